-- depends_on: {{ ref('stg_raw__users') }}
-- depends_on: {{ ref('stg_raw__as_of') }}
-- depends_on: {{ ref('stg_raw__event_file_user_days') }}
-- depends_on: {{ ref('base_raw__events') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['user_id', 'event_day'],
        on_schema_change='fail',
        post_hook=["{{ insert_remaining_ranges(user_modality_days_sql) }}", "{{ prune_days_before_window() }}"]
    )
}}
{#- Grain: user x modality x day. Event counts and engagement for the activity features.
    Incremental like int_user_encoder_days_summed: only (user, day) pairs touched by new event files. -#}
{{ user_modality_days_sql(user_chunks(ref('stg_raw__users'))[0]) }}
