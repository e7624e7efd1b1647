{{ config(materialized='view') }}
{#-
  Grain: user x encoder. For every horizon h (var `horizons`): the engagement-weighted mean
  embedding over the h days ending on as_of, from the daily sums. A horizon with no positive
  engagement has weight 0 and a NULL mean (user_features turns that into zeros + a flag).
-#}
{%- set max_dim = max_encoder_dim(ref('stg_raw__item_embeddings')) %}
{%- set horizons = var('horizons') %}
with daily as (
    {{ with_age_days(ref('int_user_encoder_days_summed')) }}
    where daily.user_id in (select user_id from {{ ref('int_users_refreshed') }})
),

windowed as (
    select
        user_id,
        encoder,
        {%- for h in horizons %}
        sum(event_count) filter (where age_days < {{ h }}) as event_count_{{ h }}d,
        sum(weight_sum) filter (where age_days < {{ h }}) as weight_{{ h }}d,
        {{ dimension_columns('sum(s_{i}) filter (where age_days < ' ~ h ~ ') as s' ~ h ~ '_{i}', max_dim) }},
        {%- endfor %}
    from daily
    where age_days >= 0 and age_days < {{ horizons | max }}
    group by all
)

select
    windowed.user_id,
    windowed.encoder,
    {%- for h in horizons %}
    coalesce(windowed.event_count_{{ h }}d, 0) as event_count_{{ h }}d,
    coalesce(windowed.weight_{{ h }}d, 0) as weight_{{ h }}d,
    case when windowed.weight_{{ h }}d > 0 then
        {{ float_list('windowed.s' ~ h ~ '_', max_dim, 'encoders.dim', '{col} / windowed.weight_' ~ h ~ 'd') }}
    end as mean_{{ h }}d{{ ',' if not loop.last }}
    {%- endfor %}
from windowed
inner join (
    select encoder, any_value(dim) as dim from {{ ref('int_item_embeddings_pivoted') }} group by 1
) as encoders on encoders.encoder = windowed.encoder
