{{ config(materialized='view') }}
{#- Grain: user x modality with events in the longest horizon. Event counts per horizon. -#}
{%- set horizons = var('horizons') %}
with daily as (
    {{ with_age_days(ref('int_user_modality_days_counted')) }}
    where daily.user_id in (select user_id from {{ ref('int_users_refreshed') }})
)

select
    user_id,
    modality,
    {%- for h in horizons %}
    coalesce(sum(event_count) filter (where age_days < {{ h }}), 0) as event_count_{{ h }}d{{ ',' if not loop.last }}
    {%- endfor %}
from daily
where age_days >= 0 and age_days < {{ horizons | max }}
group by all
