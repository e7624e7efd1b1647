{{ config(materialized='view') }}
{#- Grain: user x modality with events in the longest horizon: the number of events per horizon. -#}
{%- set plan = run_plan() %}
{%- set horizons = horizons() %}

with daily as (
    select
        *,
        {{ dbt.datediff('event_day', plan.as_of, 'day') }} as age_days
    from {{ ref('int_user_modality_days_counted') }}
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
