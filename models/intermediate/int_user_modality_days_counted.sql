{{ config(materialized='ranged_incremental', unique_key=['user_id', 'event_day'], prune_before_window='event_day',
          tags=['plan_work']) }}
{#-
  Grain: user x modality x day, for the days the longest horizon reaches: event counts and
  engagement, for the activity features. A refresh recomputes the (user, day) pairs whose item days
  this run rebuilt.
-#}
{%- set plan = run_plan() %}

with item_days as (
    select *
    from {{ ref('int_user_item_days') }}
    where {{ planned_users(plan, 'user_id') }}
        and {{ user_range('user_id') }}
        {%- if plan.incremental %}
        -- a (user, day) that int_user_item_days rebuilt has all its rows rewritten by that run
        and built_at > {{ plan.work_since }}
        {%- endif %}
),

items as (
    select * from {{ ref('stg_raw__items') }}
)

select
    item_days.user_id,
    items.modality,
    item_days.event_day,
    sum(item_days.event_count) as event_count,
    sum(item_days.weight_sum) as weight_sum,
    {{ run_started_at_sql() }} as built_at
from item_days
inner join items on items.item_id = item_days.item_id
group by item_days.user_id, items.modality, item_days.event_day
