{#-
  One row per (user, item, timestamp): copies of an event, in one file or across files, are one
  event, the copy with the highest weight, then the first file (quarantine_events holds the
  others). A GROUP BY rather than a window, so that a filter on user_id reaches the parquet scan.
-#}
with valid_events as (
    select * from {{ ref('base_raw__events') }}
    where invalid_reason is null
)

select
    user_id,
    item_id,
    ts,
    event_day,
    max(weight) as weight,
    min_by(event_type, {{ tuple_of(['-weight', 'source_file']) }}) as event_type
from valid_events
group by user_id, item_id, ts, event_day
