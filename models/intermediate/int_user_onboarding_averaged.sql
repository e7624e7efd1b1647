{{ config(materialized='view') }}
{#- Grain: user x encoder. The plain mean embedding of the items a user picked at sign-up. -#}
{%- set max_dim = max_encoder_dim(ref('stg_raw__item_embeddings')) %}
with summed as (
    select
        picks.user_id,
        embeddings.encoder,
        any_value(embeddings.dim) as dim,
        count(*) as pick_count,
        {{ dimension_columns('avg(embeddings.e_{i}) as m_{i}', max_dim) }}
    from {{ ref('stg_raw__onboarding') }} as picks
    inner join {{ ref('int_item_embeddings_pivoted') }} as embeddings
        on embeddings.item_id = picks.item_id
    where picks.user_id in (select user_id from {{ ref('int_users_refreshed') }})
    group by all
)

select
    user_id,
    encoder,
    pick_count,
    {{ float_list('m_', max_dim, 'dim') }} as mean_embedding
from summed
