{{ config(materialized='view', tags=['nrt']) }}
{#-
  Grain: one row per user in stg_raw__users: the calendar features as of the run's as_of, in whole
  log2 steps of weeks (log2_weeks): weeks since the user's last event and since sign-up, and
  whether the user has any event. With time_features sliding, user_features lays these into the
  vector; with anchored they stay out of it, because they are what moves a quiet user's vector
  with the calendar, and a downstream model joins them beside the representation.
-#}
{%- set plan = run_plan() %}

with users as (
    select user_id, signup_ts from {{ ref('stg_raw__users') }}
),

last_active as (
    select user_id, last_event_day from {{ ref('int_users_last_active') }}
)

select
    users.user_id,
    {{ plan.as_of }} as as_of,
    cast({{ log2_weeks(dbt.datediff('last_active.last_event_day', plan.as_of, 'day')) }} as float) as weeks_since_last_event_log2,
    cast({{ log2_weeks(dbt.datediff('cast(users.signup_ts as date)', plan.as_of, 'day')) }} as float) as tenure_weeks_log2,
    last_active.last_event_day is not null as has_events
from users
left join last_active on last_active.user_id = users.user_id
