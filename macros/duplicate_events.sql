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
