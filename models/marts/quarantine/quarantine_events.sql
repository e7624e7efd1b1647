-- depends_on: {{ ref('stg_raw__users') }}
{{ config(post_hook=["{{ insert_remaining_ranges(duplicate_event_copies_sql) }}"]) }}
{#-
  Rows failing a check keep their own reason; of the valid copies of one (user, item, timestamp),
  all but the one stg_raw__events keeps are duplicate_event. Copies are found per user range with
  a GROUP BY, and only the few repeated keys are ordered (a window over every raw row cost 75 s at
  1M users).
-#}
select * exclude (invalid_reason), invalid_reason as quarantine_reason
from {{ ref('base_raw__events') }}
where invalid_reason is not null
union all
select * from (
    {{ duplicate_event_copies_sql(user_chunks(ref('stg_raw__users'))[0]) }}
)
