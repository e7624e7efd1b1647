{{ config(materialized='view') }}
-- depends_on: {{ ref('stg_raw__onboarding') }}
-- depends_on: {{ ref('int_item_embeddings_pivoted') }}
-- depends_on: {{ ref('int_users_refreshed') }}
{#- Grain: user x encoder. The plain mean embedding of the items a user picked at sign-up. -#}
{%- set max_dim = max_encoder_dim(ref('stg_raw__item_embeddings')) %}
with picks as materialized (
    {#- read once for every encoder branch below: one scan of the validated picks per branch cost
        0.65-0.77 s per user range at 1M users (three encoders), one scan in all 0.48-0.57 s #}
    select user_id, item_id from {{ ref('stg_raw__onboarding') }}
    where {{ refreshed_users_only('user_id') }}
),

summed as (
    {#- per encoder, so that only its own dimensions are summed; SUMs then one division by the
        count, since AVG states are twice as large and dominate at a million users #}
    {%- for enc in encoder_dims(ref('stg_raw__item_embeddings')) %}
    select
        picks.user_id,
        embeddings.encoder,
        {{ enc.dim }} as dim,
        count(*) as pick_count,
        {{ dimension_columns('sum(embeddings.e_{i}) as m_{i}', enc.dim) }}
        {%- if enc.dim < max_dim %},
        {{ dimension_columns('cast(null as float) as m_{i}', max_dim, start=enc.dim) }}
        {%- endif %}
    from picks
    inner join {{ ref('int_item_embeddings_pivoted') }} as embeddings
        on embeddings.item_id = picks.item_id and embeddings.encoder = '{{ enc.encoder | replace("'", "''") }}'
    group by all
    {{ 'union all' if not loop.last }}
    {%- else %}
    select cast(null as varchar) as user_id, cast(null as varchar) as encoder, 1 as dim, 0 as pick_count, cast(null as float) as m_0
    where false
    {%- endfor %}
)

select
    user_id,
    encoder,
    pick_count,
    {{ float_list('m_', max_dim, 'dim', '{col} / pick_count') }} as mean_embedding
from summed
