{{ config(materialized='ranged_incremental', unique_key=['user_id', 'event_day'], prune_before_window='event_day',
          tags=['plan_work']) }}
{#-
  Grain: user x encoder x day, for the days the longest horizon reaches. Engagement-weighted
  embedding sums s_i = sum(weight * e_i) (the embedding_sums macro), so that a horizon's mean is
  a sum of a few daily rows. A refresh recomputes the (user, day) pairs whose item days this run
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
        -- a (user, day) that int_user_item_days rebuilt has all its rows rewritten by that run
        and built_at > {{ plan.work_since }}
        {%- endif %}
),

embeddings as (
    select * from {{ ref('int_item_embeddings_pivoted') }}
    where {{ in_list('encoder', layout_encoders(layout) | map(attribute='encoder') | list) }}
),

summed as (
    select
        item_days.user_id,
        embeddings.encoder,
        item_days.event_day,
        sum(item_days.event_count) as event_count,
        sum(item_days.weight_sum) as weight_sum,
        {{ embedding_sums('item_days.weight_sum', 'embeddings', ref('int_item_embeddings_pivoted'), max_dim) }} as sums
    from item_days
    inner join embeddings on embeddings.item_id = item_days.item_id
    group by item_days.user_id, embeddings.encoder, item_days.event_day
)

{#- the sums spread into s_0..; past an encoder's dim they read as NULL #}
select
    user_id,
    encoder,
    event_day,
    event_count,
    weight_sum,
    {%- for i in range(max_dim) %}
    {{ list_element('sums', i) }} as s_{{ i }},
    {%- endfor %}
    {{ run_started_at_sql() }} as built_at
from summed
