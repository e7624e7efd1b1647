{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_day',
        on_schema_change='fail'
    )
}}
{#- Grain: user x modality x day. Event counts and engagement for the activity features. -#}
with events as (
    select user_id, item_id, event_day, weight
    from {{ ref('stg_raw__events') }}
    {%- if is_incremental() %}
    where ts >= (select max(event_day) from {{ this }})
    {%- endif %}
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
