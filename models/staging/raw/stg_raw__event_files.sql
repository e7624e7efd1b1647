{#-
  Grain: one row per raw event file: its row count and latest timestamp, read without
  validation. The parquet footers answer the count; the timestamp costs a read of the file's ts
  column, so readers filter on source_file (a constant list prunes the other files).
-#}
select
    filename as source_file,
    count(*) as raw_rows,
    cast(max(ts) as timestamp) as latest_ts
from {{ source('raw', 'events') }}
group by filename
