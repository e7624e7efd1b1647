{#-
  Grain: one row per user whose features this run must recompute.
  Everyone on a first build or a --full-refresh, or when as_of or the feature schema moved (recency and tenure change
  for every user on a new day). Otherwise, near-real-time: users whose daily rows were rebuilt since
  user_features last wrote a row (new or late events, cross-file duplicates) and users new since
  the last build. A run that changes no user's features leaves that mark where it was, so the next
  run recomputes those users again (a superset, never a miss).
-#}
-- depends_on: {{ ref('stg_raw__as_of') }}
-- depends_on: {{ ref('feature_schema') }}
-- depends_on: {{ ref('int_user_encoder_days_summed') }}
-- depends_on: {{ ref('int_user_modality_days_counted') }}
-- depends_on: {{ ref('int_users_last_active') }}
{%- set previous = adapter.get_relation(this.database, this.schema, 'user_features') %}
with users as (
    select user_id from {{ ref('stg_raw__users') }}
)
{%- if refreshes_every_user() %}

select user_id from users
{%- else %},

current_run as (
    select
        (select as_of from {{ ref('stg_raw__as_of') }}) as as_of,
        (select any_value(schema_hash) from {{ ref('feature_schema') }}) as schema_hash
),

previous_run as (
    select
        max(as_of) as as_of,
        any_value(feature_schema_hash) as schema_hash,
        max(updated_at) as features_written_at
    from {{ previous }}
),

moved as (
    select (current_run.as_of is distinct from previous_run.as_of
            or current_run.schema_hash is distinct from previous_run.schema_hash) as everyone
    from current_run cross join previous_run
),

-- rows built since user_features last wrote, not since this run started: after a run that failed
-- between the daily models and user_features, the next run still picks those users up
rebuilt_days as (
    select user_id from {{ ref('int_user_encoder_days_summed') }}
    where built_at > (select features_written_at from previous_run)
    union
    select user_id from {{ ref('int_user_modality_days_counted') }}
    where built_at > (select features_written_at from previous_run)
    union
    select user_id from {{ ref('int_users_last_active') }}
    where built_at > (select features_written_at from previous_run)
)

select users.user_id
from users
cross join moved
where moved.everyone
    or users.user_id in (select user_id from rebuilt_days)
    or users.user_id not in (select user_id from {{ previous }})
{%- endif %}
