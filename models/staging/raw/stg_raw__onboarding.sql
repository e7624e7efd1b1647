{#-
  One row per (user, item) pick: repeated picks are one, at the earliest time, the copy
  base_raw__onboarding keeps. A GROUP BY instead of that model's window, so that a filter on
  user_id reaches the parquet scan.
-#}
select
    user_id,
    item_id,
    min(ts) as ts
from {{ ref('base_raw__onboarding') }}
where invalid_reason is null
group by user_id, item_id
