{{ config(materialized='view') }}
{#-
  Grain: user x encoder. For every horizon h (var `horizons`): the engagement-weighted mean
  embedding over the h days ending on as_of, from the daily sums. A horizon with no positive
  engagement has weight 0 and a NULL mean (user_features turns that into zeros + a flag).

  The days are summed once into disjoint age buckets ([0, h1), [h1, h2), ...), and horizon k is
  bucket 0 + ... + bucket k. Joining the few bucket rows back is far cheaper than one filtered SUM
  per horizon and dimension, whose aggregate state grows with horizons x dimensions.
-#}
{%- set max_dim = max_encoder_dim(ref('stg_raw__item_embeddings')) %}
{%- set horizons = var('horizons') | sort %}
with daily as (
    {{ with_age_days(ref('int_user_encoder_days_summed')) }}
    where daily.user_id in (select user_id from {{ ref('int_users_refreshed') }})
),

buckets as (
    {#- per encoder, so that only its own dimensions are summed #}
    {%- for enc in encoder_dims(ref('stg_raw__item_embeddings')) %}
    select
        user_id,
        encoder,
        case {% for h in horizons %}when age_days < {{ h }} then {{ loop.index0 }} {% endfor %}end as bucket,
        sum(event_count) as event_count,
        sum(weight_sum) as weight_sum,
        {{ dimension_columns('sum(s_{i}) as s_{i}', enc.dim) }}
        {%- if enc.dim < max_dim %},
        {{ dimension_columns('cast(null as float) as s_{i}', max_dim, start=enc.dim) }}
        {%- endif %}
    from daily
    where age_days >= 0 and age_days < {{ horizons | max }} and encoder = '{{ enc.encoder | replace("'", "''") }}'
    group by all
    {{ 'union all' if not loop.last }}
    {%- else %}
    select user_id, encoder, 0 as bucket, event_count, weight_sum, {{ dimension_columns('s_{i}', max_dim) }} from daily where false
    {%- endfor %}
),

horizon_sums as (
    select
        pairs.user_id,
        pairs.encoder,
        {%- for h in horizons %}
        {%- set k = loop.index0 %}
        {{ bucket_total('event_count', k) }} as event_count_{{ h }}d,
        {{ bucket_total('weight_sum', k) }} as weight_{{ h }}d,
        {{ dimension_columns(bucket_total('s_{i}', k) ~ ' as s' ~ h ~ '_{i}', max_dim) }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (select distinct user_id, encoder from buckets) as pairs
    {%- for h in horizons %}
    left join buckets as bucket_{{ loop.index0 }}
        on bucket_{{ loop.index0 }}.user_id = pairs.user_id
        and bucket_{{ loop.index0 }}.encoder = pairs.encoder
        and bucket_{{ loop.index0 }}.bucket = {{ loop.index0 }}
    {%- endfor %}
)

select
    horizon_sums.user_id,
    horizon_sums.encoder,
    {%- for h in horizons %}
    horizon_sums.event_count_{{ h }}d,
    horizon_sums.weight_{{ h }}d,
    case when horizon_sums.weight_{{ h }}d > 0 then
        {{ float_list('horizon_sums.s' ~ h ~ '_', max_dim, 'encoders.dim', '{col} / horizon_sums.weight_' ~ h ~ 'd') }}
    end as mean_{{ h }}d{{ ',' if not loop.last }}
    {%- endfor %}
from horizon_sums
inner join (
    select encoder, any_value(dim) as dim from {{ ref('int_item_embeddings_pivoted') }} group by 1
) as encoders on encoders.encoder = horizon_sums.encoder
