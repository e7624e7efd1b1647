{{ config(materialized='incremental', unique_key='source_file', incremental_strategy='delete+insert', on_schema_change='fail') }}
{#-
  Grain: one row per events file the pipeline has planned (the ledger of event files). A file found
  whose size or modification time differs from its row is planned again: 'new' (never seen),
  'changed' (rewritten since it was planned) or 'removed' (gone, or no longer readable). Only the
  new and changed files are read, for their row counts and timestamps.
-#}
{%- set found_files_sql %}
    select
        found.source_file,
        found.file_path,
        found.size_bytes,
        found.modified_at,
        {%- if is_incremental() %}
        case when planned.source_file is null then 'new' else 'changed' end as change
        {%- else %}
        'new' as change
        {%- endif %}
    from {{ ref('stg_raw__event_files') }} as found
    {%- if is_incremental() %}
    left join {{ this }} as planned
        on planned.source_file = found.source_file and planned.change != 'removed'
    {%- endif %}
    where found.file_problem is null
    {%- if is_incremental() %}
        and (planned.source_file is null
             or planned.size_bytes != found.size_bytes
             or planned.modified_at != found.modified_at)
    {%- endif %}
{%- endset %}
{#- the files to read, as a constant list: it prunes the parquet scan to them -#}
{%- set to_read = run_query("select file_path from (" ~ found_files_sql ~ ") as files order by 1").columns[0].values() | list if execute else [] %}

with new_or_changed as (
    {{ found_files_sql }}
),

read_files as (
    select
        filename as file_path,
        count(*) as raw_rows,
        max(case when ts <= {{ clock_cut() }} then ts end) as latest_ts,
        max(ts) as max_ts
    from (
        select filename, {{ utc_timestamp(source('raw', 'events'), 'ts') }} as ts
        from {{ source('raw', 'events') }}
        where {{ in_list('filename', to_read) }}
    ) as events
    group by filename
)
{%- if is_incremental() %},

removed as (
    select planned.*
    from {{ this }} as planned
    where planned.change != 'removed'
        and planned.source_file not in (
            select source_file from {{ ref('stg_raw__event_files') }} where file_problem is null
        )
)
{%- endif %}

select
    new_or_changed.source_file,
    new_or_changed.size_bytes,
    new_or_changed.modified_at,
    coalesce(read_files.raw_rows, 0) as raw_rows,
    read_files.latest_ts,
    read_files.max_ts,
    new_or_changed.change,
    {{ run_started_at_sql() }} as planned_at
from new_or_changed
left join read_files on read_files.file_path = new_or_changed.file_path
{%- if is_incremental() %}

union all

select
    source_file,
    size_bytes,
    modified_at,
    raw_rows,
    latest_ts,
    max_ts,
    'removed' as change,
    {{ run_started_at_sql() }} as planned_at
from removed
{%- endif %}
