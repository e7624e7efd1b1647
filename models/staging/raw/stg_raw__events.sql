{#-
  One row per (user, item, timestamp): copies of an event, in one file or across files, are one
  event with the highest weight, then the first file name (quarantine_events holds the others).
  A GROUP BY, not a window: hashing the three keys is about twice as fast as sorting every row
  with its file name, and a filter on user_id still reaches the parquet scan (a full build's user
  range reads only its own row groups).
-#}
select
    user_id,
    item_id,
    ts,
    cast(ts as date) as event_day,
    max(weight) as weight,
    -- the kept copy's type: highest weight, then the first file name
    arg_min(event_type, (-weight, source_file)) as event_type
from {{ ref('base_raw__events') }}
where invalid_reason is null
group by user_id, item_id, ts
