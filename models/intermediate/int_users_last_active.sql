-- depends_on: {{ ref('stg_raw__event_file_user_days') }}
{{ config(materialized='incremental', unique_key='user_id', incremental_strategy='delete+insert', on_schema_change='fail') }}
{#-
  Grain: one row per user with a valid event: the day of their latest one, over all history (the
  daily sums only keep the days the horizons reach). Duplicates cannot move a maximum, so this
  reads valid rows without deduplication. Incremental: the users in new event files, keeping the
  later of the stored and the new day; the file-name filter reaches the parquet scan, so only the
  new files are read.
-#}
with latest as (
    select user_id, max(cast(ts as date)) as last_event_day
    from {{ ref('base_raw__events') }}
    where invalid_reason is null
    {%- if is_incremental() %}
        and source_file in ({{ quoted_list(new_event_files()) }})
    {%- endif %}
    group by user_id
)

select
    latest.user_id,
    {%- if is_incremental() %}
    greatest(latest.last_event_day, previous.last_event_day) as last_event_day,
    {%- else %}
    latest.last_event_day,
    {%- endif %}
    {{ dbt.current_timestamp() }} as built_at
from latest
{%- if is_incremental() %}
left join {{ this }} as previous on previous.user_id = latest.user_id
{%- endif %}
