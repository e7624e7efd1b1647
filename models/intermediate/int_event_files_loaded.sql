{{ config(materialized='incremental', unique_key='source_file', incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}
{#-
  Grain: one row per raw event file the daily sums have processed. Built after them, so a file
  listed here has been summed; the daily sums read this table (without ref, which would be a
  cycle) to find the files that are new. latest_ts lets stg_raw__as_of read only new files.
-#}
-- depends_on: {{ ref('int_user_encoder_days_summed') }}
-- depends_on: {{ ref('int_user_modality_days_counted') }}
-- depends_on: {{ ref('int_users_last_active') }}
{%- if is_incremental() %}
{#- new files, and files summed before latest_ts existed (filled in once, loaded_at kept) #}
select
    files.source_file,
    files.raw_rows,
    files.latest_ts,
    coalesce(previous.loaded_at, {{ dbt.current_timestamp() }}) as loaded_at
from {{ ref('stg_raw__event_files') }} as files
left join {{ this }} as previous on previous.source_file = files.source_file
-- a constant list: it prunes the scan to these files, where `not in (select ...)` read them all
where files.source_file in ({{ quoted_list(new_event_files(without_latest_ts=true)) }})
{%- else %}
select
    source_file,
    raw_rows,
    latest_ts,
    {{ dbt.current_timestamp() }} as loaded_at
from {{ ref('stg_raw__event_files') }}
{%- endif %}
