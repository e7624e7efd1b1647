{{ config(materialized='view') }}
{#-
  Grain: user x modality with events in the longest horizon: the number of events per horizon,
  each ending on as_of or on the user's last event day (time_features, as the horizon means).
-#}
{%- set plan = run_plan() %}
{%- set horizons = horizons() %}

with daily as (
    select
        daily.*,
        {{ dbt.datediff('daily.event_day', horizons_end(plan), 'day') }} as age_days
    from {{ ref('int_user_modality_days_counted') }} as daily
    {%- if var('time_features') == 'anchored' %}
    inner join {{ ref('int_users_last_active') }} as last_active on last_active.user_id = daily.user_id
    {%- endif %}
    -- the days the longest horizon reaches back from as_of: what the daily tables keep, and all an anchored horizon may read
    where daily.event_day >= {{ plan.window_start }}
)

select
    user_id,
    modality,
    {%- for h in horizons %}
    coalesce(sum(case when age_days < {{ h }} then event_count end), 0) as event_count_{{ h }}d{{ ',' if not loop.last }}
    {%- endfor %}
from daily
where age_days >= 0 and age_days < {{ horizons | max }}
group by user_id, modality
