{{ config(materialized='ranged_table') }}
{#-
  Grain: one row per refused raw event row. A row failing a check keeps its own reason; of the
  valid copies of one (user, item, timestamp), every copy but the one stg_raw__events keeps (the
  highest weight, then the first file) is a duplicate_event. Copies are found with a GROUP BY on a
  64-bit hash of the key, and only the repeated keys are ordered: a window over every raw row is
  the costliest step of a full build. The ranges of a full build keep one range's keys in memory.
-#}
with events as (
    select * from {{ ref('base_raw__events') }}
    where {{ user_range('user_id') }}
),

invalid as (
    select * from events where invalid_reason is not null
),

valid as (
    select *, {{ hash64(['user_id', 'item_id', 'ts']) }} as key_hash
    from events
    where invalid_reason is null
),

-- a hash collision only adds a candidate: the window below partitions by the keys themselves
repeated_keys as (
    select key_hash from valid group by key_hash having count(*) > 1
),

copies as (
    select
        valid.*,
        row_number() over (
            partition by valid.user_id, valid.item_id, valid.ts order by valid.weight desc, valid.source_file
        ) as copy_rank
    from valid
    where valid.key_hash in (select key_hash from repeated_keys)
)

select
    user_id, item_id, ts, weight, event_type, source_file, invalid_reason as quarantine_reason, invalid_value
from invalid

union all

select
    user_id, item_id, ts, weight, event_type, source_file, 'duplicate_event' as quarantine_reason, invalid_value
from copies
where copy_rank > 1
