{#
  The valid raw events, one row per (user, item, timestamp): copies of an event, in one file or
  across files, are one event with the highest weight, then the first file name
  (duplicate_event_copies_sql gives the others). `where` filters the raw rows before the GROUP BY:
  a filter on source_file prunes the files read, which a filter above the GROUP BY cannot do, so
  the caller may only leave out files that cannot hold a copy of the events it wants.
  A GROUP BY, not a window: hashing the three keys is about twice as fast as sorting every row
  with its file name, and a filter on user_id still reaches the parquet scan.
#}
{% macro deduplicated_events_sql(where='true') %}
select
    user_id,
    item_id,
    ts,
    cast(ts as date) as event_day,
    max(weight) as weight,
    -- the kept copy's type: highest weight, then the first file name
    arg_min(event_type, (-weight, source_file)) as event_type
from {{ ref('base_raw__events') }}
where invalid_reason is null and {{ where }}
group by user_id, item_id, ts
{% endmacro %}

{#
  The valid raw event rows in one user range (see user_ranges.sql) that repeat an event's
  (user, item, timestamp) and are not the copy stg_raw__events keeps: that one has the highest
  weight, then the first file name.
#}
{% macro duplicate_event_copies_sql(user_range='true') %}
with valid as (
    select * exclude (invalid_reason), hash(user_id, item_id, ts) as key_hash
    from {{ ref('base_raw__events') }}
    where invalid_reason is null and {{ user_range }}
),

-- grouping one 64-bit hash is cheaper than three keys; a collision only adds a candidate, and
-- the window below still partitions by the keys themselves
repeated as (
    select key_hash from valid group by key_hash having count(*) > 1
)

select valid.* exclude (key_hash), 'duplicate_event' as quarantine_reason
from valid
semi join repeated on repeated.key_hash = valid.key_hash
qualify row_number() over (
    partition by valid.user_id, valid.item_id, valid.ts order by valid.weight desc, valid.source_file
) > 1
{% endmacro %}
