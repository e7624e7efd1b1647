-- depends_on: {{ ref('stg_raw__users') }}
-- depends_on: {{ ref('stg_raw__as_of') }}
-- depends_on: {{ ref('int_item_embeddings_pivoted') }}
-- depends_on: {{ ref('stg_raw__event_file_user_days') }}
-- depends_on: {{ ref('base_raw__events') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['user_id', 'event_day'],
        on_schema_change='fail',
        post_hook=["{{ insert_remaining_ranges(user_encoder_days_sql) }}", "{{ prune_days_before_window() }}"]
    )
}}
{#-
  Grain: user x encoder x day. Engagement-weighted embedding sums, one SUM per dimension,
  so horizon means are sums of a few daily rows instead of rescans of the events.
  Incremental: recomputes only the (user, day) pairs touched by new event files.
-#}
{{ user_encoder_days_sql(user_chunks(ref('stg_raw__users'))[0]) }}
