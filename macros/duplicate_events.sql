{#
  The valid raw event rows in one user range (see user_ranges.sql) that repeat an event's
  (user, item, timestamp) and are not the copy stg_raw__events keeps: that one has the highest
  weight, then the first file name.
#}
{% macro duplicate_event_copies_sql(user_range='true') %}
with valid as (
    select * exclude (invalid_reason)
    from {{ ref('base_raw__events') }}
    where invalid_reason is null and {{ user_range }}
),

repeated as (
    select user_id, item_id, ts from valid group by all having count(*) > 1
)

select valid.*, 'duplicate_event' as quarantine_reason
from valid
inner join repeated
    on repeated.user_id = valid.user_id and repeated.item_id = valid.item_id and repeated.ts = valid.ts
qualify row_number() over (
    partition by valid.user_id, valid.item_id, valid.ts order by valid.weight desc, valid.source_file
) > 1
{% endmacro %}
