{{ config(materialized='incremental', unique_key='user_id', incremental_strategy='delete+insert', on_schema_change='append_new_columns') }}
{#-
  Grain: one row per user the pipeline has planned (the ledger of users): a hash of everything a
  user's features read besides events (sign-up time, attributes, onboarding picks), when the user
  was last planned and why: 'new_user', 'user_changed', 'new_events' (a row in an events file
  planned since this ledger last changed) or 'removed' (gone from the users source), and when the
  user was first planned as new (first_planned_at), kept while later runs plan them again.
  Hashing every user reads the users, onboarding and items sources whole, so a run skips it when
  the files behind them are those its latest rows were planned with (sources_hash) and no sign-up
  has come due since (a future sign-up is quarantined until the clock passes it): then nobody's
  hash can have changed, and only the users with new events are planned.
-#}
{%- set hashed = ['users.signup_ts', 'picks.picks_hash'] %}
{%- for attribute in user_attribute_columns(source('raw', 'users')) %}{% do hashed.append('users.' ~ quote_name(attribute)) %}{% endfor %}
{%- set file_ledger = ref('run_plan_event_files') %}
{%- set signup_ts = utc_timestamp(source('raw', 'users'), 'signup_ts') %}
{#- what the users' hashes depend on: the files of the sources they read, which columns are hashed, and the clock skew that quarantines future sign-ups -#}
{%- set depends_on = hashed | join(', ') ~ '; max_clock_skew_minutes ' ~ var('max_clock_skew_minutes') %}
{%- set sources_hash -%}
    (select {{ hash64(['bit_xor(' ~ hash64(['source_name', 'file_path', 'size_bytes', 'modified_at']) ~ ')', sql_string(depends_on)]) }}
     from {{ source('raw', 'source_files') }}
     where source_name in ('users', 'onboarding', 'items'))
{%- endset %}
{%- set new_files = [] %}
{%- set sources_unchanged = false %}
{%- set ledger_columns = [] %}
{%- if execute and is_incremental() %}
  {%- set ledger_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}
  {%- set new_files = event_file_paths(run_query(
        "select source_file from " ~ file_ledger ~ " where change = 'new' and planned_at > "
        ~ "(select max(planned_at) from " ~ this ~ ") order by 1").columns[0].values()) %}
  {%- if 'sources_hash' in ledger_columns %}
    {%- set sources_unchanged = run_query(
          "with latest as (select sources_hash, planned_at from " ~ this ~ " order by planned_at desc limit 1) "
          ~ "select coalesce((select sources_hash from latest) = " ~ sources_hash ~ ", false) "
          ~ "and (select count(*) from " ~ source('raw', 'users') ~ " where " ~ signup_ts ~ " > (select planned_at from latest) "
          ~ "and " ~ signup_ts ~ " <= " ~ clock_cut() ~ ") = 0").columns[0].values()[0] %}
  {%- endif %}
{%- endif %}
with
{%- if is_incremental() %}

planned as (
    select
        user_id,
        user_hash,
        {#- a ledger written before the column existed: its users are not new -#}
        {{ 'first_planned_at' if 'first_planned_at' in ledger_columns else 'cast(null as timestamp) as first_planned_at' }}
    from {{ this }}
    where reason != 'removed'
),

-- users with a row in the events files planned since this ledger last changed, read from those files only
users_with_new_events as (
    select distinct cast(user_id as string) as user_id
    from {{ source('raw', 'events') }}
    where {{ in_list('filename', new_files) }}
)
{%- endif %}
{%- if not sources_unchanged %}{{ ',' if is_incremental() }}

-- every (user, item) pick in the file once, unvalidated: a pick the staging refuses (an unknown
-- item) can only make its user look changed, and validating every pick costs more than hashing it
picks as (
    select
        user_id,
        bit_xor({{ hash64(['item_id']) }}) as picks_hash
    from (
        select distinct cast(user_id as string) as user_id, cast(item_id as string) as item_id
        from {{ source('raw', 'onboarding') }}
        where user_id is not null and item_id is not null
    ) as raw_picks
    group by user_id
),

users as (
    select
        users.user_id,
        {{ hash64(hashed) }} as user_hash
    from {{ ref('stg_raw__users') }} as users
    left join picks on picks.user_id = users.user_id
)
{%- endif %}
{%- if sources_unchanged %}

-- the users' sources are as last hashed: every planned user keeps their hash
select
    planned.user_id,
    planned.user_hash,
    'new_events' as reason,
    {{ run_started_at_sql() }} as planned_at,
    {{ sources_hash }} as sources_hash,
    planned.first_planned_at
from planned
where planned.user_id in (select user_id from users_with_new_events)
{%- elif is_incremental() %}

select
    users.user_id,
    users.user_hash,
    case
        when planned.user_id is null then 'new_user'
        when planned.user_hash != users.user_hash then 'user_changed'
        else 'new_events'
    end as reason,
    {{ run_started_at_sql() }} as planned_at,
    {{ sources_hash }} as sources_hash,
    case when planned.user_id is null then {{ run_started_at_sql() }} else planned.first_planned_at end as first_planned_at
from users
left join planned on planned.user_id = users.user_id
where planned.user_id is null
    or planned.user_hash != users.user_hash
    or users.user_id in (select user_id from users_with_new_events)

union all

select
    planned.user_id,
    planned.user_hash,
    'removed' as reason,
    {{ run_started_at_sql() }} as planned_at,
    {{ sources_hash }} as sources_hash,
    planned.first_planned_at
from planned
where planned.user_id not in (select user_id from users)
{%- else %}

select
    user_id,
    user_hash,
    'new_user' as reason,
    {{ run_started_at_sql() }} as planned_at,
    {{ sources_hash }} as sources_hash,
    {{ run_started_at_sql() }} as first_planned_at
from users
{%- endif %}
