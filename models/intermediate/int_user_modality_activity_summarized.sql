{{ config(materialized='view') }}
-- depends_on: {{ ref('int_users_refreshed') }}
{#- Grain: user x modality with events in the longest horizon. Event counts per horizon. -#}
{%- set horizons = var('horizons') %}
with daily as (
    {{ with_age_days(ref('int_user_modality_days_counted')) }}
    where {{ refreshed_users_only('daily.user_id') }}
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
