{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_day',
        on_schema_change='fail'
    )
}}
{#-
  Grain: user x encoder x day. Engagement-weighted embedding sums, one SUM per dimension,
  so horizon means are sums of a few daily rows instead of rescans of the events.
  Incremental: a rerun replaces only the days from the last day already built onwards.
-#}
{%- set max_dim = max_encoder_dim(ref('stg_raw__item_embeddings')) %}
with events as (
    select user_id, item_id, event_day, weight
    from {{ ref('stg_raw__events') }}
    {%- if is_incremental() %}
    where ts >= (select max(event_day) from {{ this }})
    {%- endif %}
)

select
    events.user_id,
    embeddings.encoder,
    events.event_day,
    count(*) as event_count,
    {{ dbt.current_timestamp() }} as built_at,
    sum(events.weight) as weight_sum,
    {{ dimension_columns('cast(sum(events.weight * embeddings.e_{i}) as float) as s_{i}', max_dim) }}
from events
inner join {{ ref('int_item_embeddings_pivoted') }} as embeddings
    on embeddings.item_id = events.item_id
group by all
