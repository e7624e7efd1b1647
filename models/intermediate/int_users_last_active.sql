{{ config(materialized='ranged_incremental', unique_key='user_id', tags=['plan_work']) }}
{#-
  Grain: one row per user with a valid event: the day of their latest one, over all history (the
  daily tables keep only the days the horizons reach). Copies of an event cannot move a maximum,
  so this reads valid rows without deduplication. A refresh reads the plan's new event files, and
  every file for the plan's new users, and keeps the later of the stored and the new day.
-#}
{%- set plan = run_plan() %}
{#- the new users may be read from the users' ledger, in a branch that parsing does not render #}
-- depends_on: {{ ref('run_plan_users') }}

with events as (
    select user_id, event_day
    from {{ ref('base_raw__events') }}
    where invalid_reason is null
        and {{ user_range('user_id') }}
        {%- if plan.incremental %}
        and {{ in_list('file_path', plan.new_event_files) }}
        {%- endif %}
    {%- if plan.incremental and plan.new_users %}

    union all

    -- a new user's events from every file: they may have landed before the user did
    select user_id, event_day
    from {{ ref('base_raw__events') }}
    where invalid_reason is null
        and {{ new_users(plan, 'user_id') }}
    {%- endif %}
),

latest as (
    select user_id, max(event_day) as last_event_day
    from events
    group by user_id
)

select
    latest.user_id,
    {%- if plan.incremental %}
    greatest(latest.last_event_day, coalesce(previous.last_event_day, latest.last_event_day)) as last_event_day,
    {%- else %}
    latest.last_event_day,
    {%- endif %}
    {{ run_started_at_sql() }} as built_at
from latest
{%- if plan.incremental %}
left join {{ this }} as previous on previous.user_id = latest.user_id
{%- endif %}
