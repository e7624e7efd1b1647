-- depends_on: {{ ref('stg_raw__as_of') }}
-- depends_on: {{ ref('int_users_refreshed') }}
-- depends_on: {{ ref('stg_raw__users') }}
-- depends_on: {{ ref('stg_raw__items') }}
-- depends_on: {{ ref('stg_raw__item_embeddings') }}
-- depends_on: {{ ref('feature_schema') }}
-- depends_on: {{ ref('int_users_last_active') }}
-- depends_on: {{ ref('int_user_encoder_horizons_averaged') }}
-- depends_on: {{ ref('int_user_onboarding_averaged') }}
-- depends_on: {{ ref('int_user_modality_activity_summarized') }}
{{
    config(
        materialized='incremental',
        unique_key='user_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook=["{{ insert_remaining_ranges(user_features_sql) }}"]
    )
}}
{#-
  Grain: one row per user in stg_raw__users (users without events included). `features` is the
  canonical FLOAT vector described by feature_schema; missing groups are zeros with a presence
  flag of 0, never NULL or NaN.
  Incremental: recomputes the users in int_users_refreshed and rewrites only rows whose features
  changed, so untouched users keep their updated_at and are not re-encoded.
  A full build runs one statement per user range (user_ranges.sql); an incremental run filters
  every input by the refreshed users as a constant list (up to 20k users).
-#}
{{ user_features_sql(refreshed_users_predicate() if is_incremental() else user_chunks(ref('stg_raw__users'))[0]) }}
