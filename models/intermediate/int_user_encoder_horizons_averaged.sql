{{ config(materialized='view') }}
{#-
  Grain: user x encoder x horizon, for the users with events in that horizon: the
  engagement-weighted mean embedding over the h days ending on as_of (time_features sliding) or on
  the user's last event day (anchored), from the daily sums, which keep the days the longest
  horizon reaches back from as_of. A horizon whose events all have weight 0 has weight 0 and a
  NULL mean (user_features turns that into zeros and a presence flag of 0).

  One branch per encoder, so that only its own dimensions are summed.
-#}
{%- set plan = run_plan() %}
{%- set horizons = horizons() %}

with daily as (
    select
        daily.*,
        {{ dbt.datediff('daily.event_day', horizons_end(plan), 'day') }} as age_days
    from {{ ref('int_user_encoder_days_summed') }} as daily
    {%- if var('time_features') == 'anchored' %}
    inner join {{ ref('int_users_last_active') }} as last_active on last_active.user_id = daily.user_id
    {%- endif %}
    -- the days the longest horizon reaches back from as_of: what the daily tables keep, and all an anchored horizon may read
    where daily.event_day >= {{ plan.window_start }}
),

horizons as (
    {%- for h in horizons %}
    select {{ h }} as horizon_days{{ ' union all' if not loop.last }}
    {%- endfor %}
)
{%- for enc in layout_encoders(feature_layout()) %},

encoder_{{ loop.index }} as (
    select
        daily.user_id,
        horizons.horizon_days,
        sum(daily.event_count) as event_count,
        sum(daily.weight_sum) as weight,
        {{ dimension_columns('sum(daily.s_{i}) as s_{i}', enc.dim) }}
    from daily
    inner join horizons on daily.age_days < horizons.horizon_days
    where daily.encoder = {{ sql_string(enc.encoder) }} and daily.age_days >= 0
    group by daily.user_id, horizons.horizon_days
)
{%- endfor %}

{%- for enc in layout_encoders(feature_layout()) %}

select
    user_id,
    {{ sql_string(enc.encoder) }} as encoder,
    horizon_days,
    event_count,
    weight,
    case when weight > 0 then {{ float_list(dimension_expressions('s_{i} / weight', enc.dim)) }} end as mean_embedding
from encoder_{{ loop.index }}
{{ 'union all' if not loop.last }}
{%- else %}

select
    user_id,
    encoder,
    0 as horizon_days,
    event_count,
    weight_sum as weight,
    cast(null as {{ sql_type('float[]') }}) as mean_embedding
from daily
where false
{%- endfor %}
