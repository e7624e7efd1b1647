{{ config(materialized='ranged_incremental', unique_key=['user_id', 'event_day'], prune_before_window='event_day',
          tags=['plan_work']) }}
{#-
  Grain: user x encoder x day, for the days the longest horizon reaches. Engagement-weighted
  embedding sums, one SUM per dimension (s_i = sum(weight * e_i)), so that a horizon's mean is a
  sum of a few daily rows. A refresh recomputes the (user, day) pairs whose item days this run
  rebuilt.
-#}
{%- set plan = run_plan() %}
{%- set layout = feature_layout() %}
{%- set max_dim = layout_max_dim(layout) %}

with item_days as (
    select *
    from {{ ref('int_user_item_days') }}
    where {{ planned_users(plan, 'user_id') }}
        and {{ user_range('user_id') }}
        {%- if plan.incremental %}
        and (user_id, event_day) in (
            select user_id, event_day from {{ ref('int_user_item_days') }} where built_at > {{ plan.work_since }}
        )
        {%- endif %}
),

embeddings as (
    select * from {{ ref('int_item_embeddings_pivoted') }}
)
{#- one branch per encoder, each summing only its own dimensions (the rest are constant NULLs) #}
{%- for enc in layout_encoders(layout) %}

select
    item_days.user_id,
    {{ sql_string(enc.encoder) }} as encoder,
    item_days.event_day,
    sum(item_days.event_count) as event_count,
    sum(item_days.weight_sum) as weight_sum,
    {{ dimension_columns('cast(sum(item_days.weight_sum * embeddings.e_{i}) as float) as s_{i}', enc.dim) }},
    {%- for i in range(enc.dim, max_dim) %}
    cast(null as float) as s_{{ i }},
    {%- endfor %}
    {{ run_started_at_sql() }} as built_at
from item_days
inner join embeddings
    on embeddings.item_id = item_days.item_id and embeddings.encoder = {{ sql_string(enc.encoder) }}
group by item_days.user_id, item_days.event_day
{{ 'union all' if not loop.last }}
{%- else %}

select
    user_id,
    cast(null as string) as encoder,
    event_day,
    sum(event_count) as event_count,
    sum(weight_sum) as weight_sum,
    cast(null as float) as s_0,
    {{ run_started_at_sql() }} as built_at
from item_days
where false
group by user_id, event_day
{%- endfor %}
