-- depends_on: {{ ref('stg_raw__event_file_user_days') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['user_id', 'event_day'],
        on_schema_change='fail'
    )
}}
{#-
  Grain: user x encoder x day. Engagement-weighted embedding sums, one SUM per dimension,
  so horizon means are sums of a few daily rows instead of rescans of the events.
  Incremental: recomputes only the (user, day) pairs touched by new event files.
-#}
{%- set max_dim = max_encoder_dim(ref('stg_raw__item_embeddings')) %}
with events as (
    {{ events_to_aggregate() }}
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
