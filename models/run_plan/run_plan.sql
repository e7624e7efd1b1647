{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns') }}
{#-
  Grain: one row per run. What this run must do, decided once before any model does it: the day
  the features describe and the window the horizons reach, whether everything is rebuilt (and
  why), whether every user's features are recomputed (and why), the event files that can hold an
  event inside the window, and the user ranges of a full build.
  A run's work is everything planned after the last completed run (work_since; completed_at is set
  at the end of a run whose every model tagged plan_work succeeded), so a run that stopped partway
  is finished by the next: new_event_files and the users to recompute (user_count, and the ids
  when there are at most max_listed_users) are those planned after work_since. Of those, the new users
  (new_user_count, new_users) may have events in files summed before they arrived (quarantined
  then as unknown_user): the models read those files again for them.
-#}
{%- set horizons = horizons() %}
{%- set longest = horizons | max %}
{%- set max_listed_users = var('max_listed_users') %}
{#- a plan table without new_users was written by a userrep that never read a new user's earlier events -#}
{%- set plans_read_new_users = not (execute and is_incremental())
      or 'new_users' in adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}

with files as (
    select * from {{ ref('run_plan_event_files') }}
),

present_files as (
    select * from files where change != 'removed'
),

users as (
    select * from {{ ref('run_plan_users') }}
),

feature_schema as (
    select max(schema_hash) as schema_hash from {{ ref('feature_schema') }}
),

-- what every feature reads from the catalog: a changed item or embedding changes every sum
catalog as (
    select
        (select bit_xor({{ hash64(['item_id', 'modality']) }}) from {{ ref('stg_raw__items') }}) as items_hash,
        (select bit_xor({{ hash64(['encoder', 'item_id', 'embedding']) }}) from {{ ref('stg_raw__item_embeddings') }})
            as embeddings_hash
),

resolved as (
    select
        {%- if var('as_of') %}
        cast({{ sql_string(var('as_of')) }} as date) as as_of,
        'var' as as_of_source,
        {%- else %}
        coalesce(cast(max(latest_ts) as date), cast({{ run_started_at_sql() }} as date)) as as_of,
        case when max(latest_ts) is null then 'no events: the day of the run' else 'latest event' end as as_of_source,
        {%- endif %}
        coalesce(sum(raw_rows), 0) as event_rows,
        count(*) as event_files
    from present_files
),

-- user ranges for a full build: one per events_per_range raw events, split at user ids
ranked_users as (
    select
        user_id,
        row_number() over (order by user_id) as position,
        count(*) over () as user_count
    from {{ ref('stg_raw__users') }}
),

range_bounds as (
    select {{ sorted_list('user_id') }} as user_range_bounds
    from ranked_users
    cross join resolved
    where position > 1
        and (position - 1) % cast(ceil(user_count / greatest(ceil(resolved.event_rows / {{ var('events_per_range') }}), 1)) as bigint) = 0
),

-- this run's work starts after the last completed run
work as (
    select
        {%- if is_incremental() %}
        max(case when completed_at is not null then planned_at end) as work_since
        from {{ this }}
        {%- else %}
        cast(null as timestamp) as work_since
        {%- endif %}
),

planned_users as (
    select users.*
    from users
    cross join work
    where users.planned_at > coalesce(work.work_since, cast('1900-01-01' as timestamp))
),

-- first planned as new in this run's work: a run that stopped partway leaves them new to the next
new_users as (
    select planned_users.user_id
    from planned_users
    cross join work
    where planned_users.first_planned_at > coalesce(work.work_since, cast('1900-01-01' as timestamp))
)
{%- if is_incremental() %},

previous as (
    select * from {{ this }} order by planned_at desc limit 1
),

-- runs since the last completed one: their rebuilds and recomputations are still owed
unfinished as (
    select
        coalesce(max(case when rebuild then 1 else 0 end), 0) = 1 as rebuild,
        coalesce(max(case when everyone then 1 else 0 end), 0) = 1 as everyone
    from {{ this }}
    cross join work
    where planned_at > coalesce(work.work_since, cast('1900-01-01' as timestamp))
)
{%- endif %},

reasons as (
    select
        {%- if not is_incremental() %}
        {{ sql_string('full refresh' if flags.FULL_REFRESH else 'first build') }} as rebuild_reason,
        cast(null as string) as everyone_reason
        {%- else %}
        concat_ws('; ',
            (select min('event file ' || source_file || ' ' || change || ' since it was summed') from files
             where planned_at = {{ run_started_at_sql() }} and change in ('changed', 'removed')),
            (select case when count(*) > 0 then count(*) || ' user(s) left the users source' end from users
             where planned_at = {{ run_started_at_sql() }} and reason = 'removed'),
            case when resolved.as_of < previous.as_of
                then 'as_of moved back from ' || cast(previous.as_of as string) || ' to ' || cast(resolved.as_of as string) end,
            case when resolved.as_of > previous.as_of and exists (
                    select 1 from present_files where planned_at < {{ run_started_at_sql() }} and latest_ts >= previous.as_of + 1)
                then 'as_of moved past events already summed' end,
            case when exists (
                    select 1 from present_files
                    where planned_at < {{ run_started_at_sql() }} and max_ts > previous.clock_cut and max_ts <= {{ clock_cut() }})
                then 'events that were in the future are now due' end,
            case when previous.horizons != {{ sql_string(horizons | join(',')) }} then 'horizons changed' end,
            case when previous.items_hash != catalog.items_hash or previous.embeddings_hash != catalog.embeddings_hash
                then 'items or item embeddings changed' end,
            case when unfinished.rebuild then 'an earlier rebuild did not complete' end
            {%- if not plans_read_new_users %},
            'earlier plans did not read the earlier events of new users'
            {%- endif %}
        ) as rebuild_reason,
        concat_ws('; ',
            case when resolved.as_of != previous.as_of
                then 'as_of moved from ' || cast(previous.as_of as string) || ' to ' || cast(resolved.as_of as string) end,
            case when previous.feature_schema_hash != feature_schema.schema_hash then 'the feature schema changed' end,
            case when unfinished.everyone then 'an earlier recomputation did not complete' end
        ) as everyone_reason
        {%- endif %}
    from resolved
    cross join feature_schema
    cross join catalog
    {%- if is_incremental() %}
    cross join previous
    cross join unfinished
    {%- endif %}
)

select
    {{ run_started_at_sql() }} as planned_at,
    {{ sql_string(invocation_id) }} as invocation_id,
    resolved.as_of,
    resolved.as_of_source,
    resolved.as_of - {{ longest - 1 }} as window_start,
    {{ clock_cut() }} as clock_cut,
    {{ sql_string(horizons | join(',')) }} as horizons,
    feature_schema.schema_hash as feature_schema_hash,
    catalog.items_hash,
    catalog.embeddings_hash,
    resolved.event_files,
    resolved.event_rows,
    coalesce(reasons.rebuild_reason, '') != '' as rebuild,
    nullif(reasons.rebuild_reason, '') as rebuild_reason,
    coalesce(reasons.rebuild_reason, '') != '' or coalesce(reasons.everyone_reason, '') != '' as everyone,
    nullif(reasons.everyone_reason, '') as everyone_reason,
    work.work_since,
    (select {{ sorted_list('source_file') }} from present_files where max_ts >= resolved.as_of - {{ longest - 1 }})
        as event_files_in_window,
    (select {{ sorted_list('source_file') }} from present_files
     where change = 'new' and planned_at > coalesce(work.work_since, cast('1900-01-01' as timestamp))) as new_event_files,
    (select count(*) from planned_users) as user_count,
    case when (select count(*) from planned_users) <= {{ max_listed_users }}
        then (select {{ sorted_list('user_id') }} from planned_users) end as users,
    range_bounds.user_range_bounds,
    cast(null as timestamp) as completed_at,
    (select count(*) from new_users) as new_user_count,
    case when (select count(*) from new_users) <= {{ max_listed_users }}
        then (select {{ sorted_list('user_id') }} from new_users) end as new_users
from resolved
cross join reasons
cross join feature_schema
cross join catalog
cross join range_bounds
cross join work
