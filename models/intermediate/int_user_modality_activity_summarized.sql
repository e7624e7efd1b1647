{{ config(materialized='view') }}
{#- Grain: user x modality. Event counts per horizon and the last active day. -#}
{%- set horizons = var('horizons') %}
with daily as (
    {{ with_age_days(ref('int_user_modality_days_counted')) }}
    where daily.user_id in (select user_id from {{ ref('int_users_refreshed') }})
)

select
    user_id,
    modality,
    {%- for h in horizons %}
    coalesce(sum(event_count) filter (where age_days < {{ h }}), 0) as event_count_{{ h }}d,
    {%- endfor %}
    max(event_day) as last_event_day
from daily
where age_days >= 0
group by all
