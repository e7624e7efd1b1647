{{ config(materialized='ranged_incremental', unique_key='user_id', skip_unchanged=['features_hash', 'feature_schema_hash'],
          as_of_column='as_of', tags=['plan_work']) }}
{#-
  Grain: one row per user in stg_raw__users (users without events included). `features` is the
  FLOAT vector laid out by feature_schema, one list per group in its order; missing signal is
  zeros with the group's presence flag 0, never NULL or NaN. A refresh recomputes the plan's users
  and writes only the rows whose features changed (skip_unchanged compares 64-bit hashes, not the
  vectors), so an unchanged user keeps its updated_at and is not re-encoded (on a new day, most
  users); as_of_column moves every kept row to the run's as_of, since its features hold then too.
-#}
{%- set plan = run_plan() %}
{%- set layout = feature_layout() %}
{%- set group_index = {} %}{% for group in layout %}{% do group_index.update({group.name: group.index}) %}{% endfor %}
{%- set scope = planned_users(plan, 'user_id') ~ ' and ' ~ user_range('user_id') %}

with users as (
    select * from {{ ref('stg_raw__users') }} where {{ scope }}
),

horizon_means as (
    select * from {{ ref('int_user_encoder_horizons_averaged') }} where {{ scope }}
),

onboarding_means as (
    select * from {{ ref('int_user_onboarding_averaged') }} where {{ scope }}
),

activity as (
    select * from {{ ref('int_user_modality_activity_summarized') }} where {{ scope }}
),

{%- if var('time_features') == 'sliding' %}

calendar as (
    select * from {{ ref('user_calendar_features') }} where {{ scope }}
),
{%- endif %}

feature_schema as (
    select max(schema_hash) as schema_hash from {{ ref('feature_schema') }}
),

-- one row per user with each (encoder, horizon) mean as column g<group index> and its weight beside it
horizon_means_by_user as (
    select
        user_id,
        {%- for group in layout if group.kind == 'behaviour_mean' %}
        max(case when encoder = {{ sql_string(group.encoder) }} and horizon_days = {{ group.horizon }} then mean_embedding end)
            as g{{ group.index }},
        max(case when encoder = {{ sql_string(group.encoder) }} and horizon_days = {{ group.horizon }} then weight end)
            as g{{ group.index }}_weight,
        {%- endfor %}
        count(*) as horizon_rows
    from horizon_means
    group by user_id
),

onboarding_means_by_user as (
    select
        user_id,
        {%- for group in layout if group.kind == 'onboarding_mean' %}
        max(case when encoder = {{ sql_string(group.encoder) }} then mean_embedding end) as g{{ group.index }},
        {%- endfor %}
        count(*) as onboarding_rows
    from onboarding_means
    group by user_id
),

activity_by_user as (
    select
        user_id,
        {%- for group in layout if group.kind == 'activity' %}
        max(case when modality = {{ sql_string(group.modality) }} then event_count_{{ group.horizon }}d end) as g{{ group.index }},
        {%- endfor %}
        count(*) as activity_rows
    from activity
    group by user_id
),

{#- each group's FLOAT list, in layout order -#}
{%- set lists = [] %}
{%- for group in layout %}
  {%- if group.kind == 'behaviour_mean' %}
    {%- do lists.append('coalesce(horizon_means.g' ~ group.index ~ ', ' ~ zeros(group.dim) ~ ')') %}
  {%- elif group.kind == 'onboarding_mean' %}
    {%- do lists.append('coalesce(onboarding_means.g' ~ group.index ~ ', ' ~ zeros(group.dim) ~ ')') %}
  {%- elif group.kind == 'activity' %}
    {%- do lists.append(float_list(['ln(1 + coalesce(activity.g' ~ group.index ~ ', 0))'])) %}
  {%- elif group.kind == 'recency' %}
    {%- do lists.append(float_list(['calendar.weeks_since_last_event_log2'])) %}
  {%- elif group.kind == 'tenure' %}
    {%- do lists.append(float_list(['calendar.tenure_weeks_log2'])) %}
  {%- elif group.kind == 'categorical' %}
    {%- set values = fromjson(group.detail) %}
    {%- set column = 'users.' ~ quote_name(group.name) %}
    {%- set slots = [] %}
    {#- a user without a value has every slot 0 -#}
    {%- for value in values %}{% do slots.append('cast(coalesce(' ~ column ~ ' = ' ~ sql_string(value) ~ ', false) as float)') %}{% endfor %}
    {#- when the values were capped, the last slot is every other value -#}
    {%- if group.dim > values | length %}
      {%- do slots.append('cast(' ~ column ~ ' is not null and not ' ~ in_list(column, values) ~ ' as float)') %}
    {%- endif %}
    {%- do lists.append(float_list(slots)) %}
  {%- elif group.kind == 'presence' and group.detail.endswith('__onboarding_mean') %}
    {%- do lists.append(float_list(['cast(onboarding_means.g' ~ group_index[group.detail] ~ ' is not null as float)'])) %}
  {%- elif group.kind == 'presence' and group.encoder %}
    {%- do lists.append(float_list(['cast(coalesce(horizon_means.g' ~ group_index[group.detail] ~ '_weight, 0) > 0 as float)'])) %}
  {%- elif group.kind == 'presence' %}
    {%- do lists.append(float_list(['cast(calendar.has_events as float)'])) %}
  {%- else %}
    {{ exceptions.raise_compiler_error("user_features: feature group " ~ group.name ~ " has unknown kind " ~ group.kind) }}
  {%- endif %}
{%- endfor %}

computed as (
    select
        users.user_id,
        {{ concat_lists(lists) }} as features,
        feature_schema.schema_hash as feature_schema_hash
    from users
    cross join feature_schema
    left join horizon_means_by_user as horizon_means on horizon_means.user_id = users.user_id
    left join onboarding_means_by_user as onboarding_means on onboarding_means.user_id = users.user_id
    left join activity_by_user as activity on activity.user_id = users.user_id
    {%- if var('time_features') == 'sliding' %}
    left join calendar on calendar.user_id = users.user_id
    {%- endif %}
),

hashed as (
    select
        user_id,
        features,
        {{ hash64(['features']) }} as features_hash,
        feature_schema_hash,
        {{ plan.as_of }} as as_of,
        {{ dbt.current_timestamp() }} as updated_at
    from computed
)

select * from hashed
