{#- Grain: one row per raw event file: its row count, read without validation (the parquet footers answer it). -#}
select
    filename as source_file,
    count(*) as raw_rows
from {{ source('raw', 'events') }}
group by filename
