-- depends_on: {{ ref('stg_raw__event_file_user_days') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['user_id', 'event_day'],
        on_schema_change='fail'
    )
}}
{#- Grain: user x modality x day. Event counts and engagement for the activity features.
    Incremental like int_user_encoder_days_summed: only (user, day) pairs touched by new event files. -#}
with events as (
    {{ events_to_aggregate() }}
)

select
    events.user_id,
    items.modality,
    events.event_day,
    count(*) as event_count,
    {{ dbt.current_timestamp() }} as built_at,
    sum(events.weight) as weight_sum
from events
inner join {{ ref('stg_raw__items') }} as items
    on items.item_id = events.item_id
group by all
