{{ config(materialized='incremental', unique_key='source_file', incremental_strategy='delete+insert') }}
{#-
  Grain: one row per raw event file the daily sums have processed. Built after them, so a file
  listed here has been summed; the daily sums read this table (without ref, which would be a
  cycle) to find the files that are new.
-#}
-- depends_on: {{ ref('int_user_encoder_days_summed') }}
-- depends_on: {{ ref('int_user_modality_days_counted') }}
-- depends_on: {{ ref('int_users_last_active') }}
select
    source_file,
    raw_rows,
    {{ dbt.current_timestamp() }} as loaded_at
from {{ ref('stg_raw__event_files') }}
{%- if is_incremental() %}
where source_file not in (select source_file from {{ this }})
{%- endif %}
