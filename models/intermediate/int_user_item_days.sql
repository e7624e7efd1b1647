{{ config(materialized='ranged_incremental', unique_key=['user_id', 'event_day'], prune_before_window='event_day',
          tags=['plan_work']) }}
{#-
  Grain: user x item x day, for the days the longest horizon reaches: the valid events, each copy
  of an event counted once, compacted to a count and a weight per item and day. The one model that
  reads raw events for the features. A refresh recomputes the (user, day) pairs that the plan's new
  event files touch, and every day of the plan's new users, reading only the files that can reach
  the window, for the plan's users only.
-#}
{%- set plan = run_plan() %}

with events as (
    select *
    from {{ ref('base_raw__events') }}
    where invalid_reason is null
        and event_day >= {{ plan.window_start }}
        and {{ in_list('file_path', plan.event_files_in_window) }}
        and {{ planned_users(plan, 'user_id') }}
        and {{ user_range('user_id') }}
)
{%- if plan.incremental %},

touched_days as (
    select distinct user_id, event_day
    from {{ ref('base_raw__events') }}
    where {{ in_list('file_path', plan.new_event_files) }}
    {%- if plan.new_users %}

    union

    -- every day of a new user: their events may have landed before they did
    select distinct user_id, event_day
    from events
    where {{ new_users(plan, 'user_id') }}
    {%- endif %}
)
{%- endif %},

-- copies of an event count once, with the highest weight (the copy stg_raw__events keeps)
deduplicated as (
    select user_id, item_id, event_day, max(weight) as weight
    from events
    {%- if plan.incremental %}
    where (user_id, event_day) in (select user_id, event_day from touched_days)
    {%- endif %}
    group by user_id, item_id, ts, event_day
)

select
    user_id,
    item_id,
    event_day,
    count(*) as event_count,
    sum(weight) as weight_sum,
    {{ run_started_at_sql() }} as built_at
from deduplicated
group by user_id, item_id, event_day
