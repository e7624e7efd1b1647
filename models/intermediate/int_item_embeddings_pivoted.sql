{#- Wide layout (one column per dimension) so that per-user sums are plain column SUMs. -#}
{%- set max_dim = max_encoder_dim(ref('stg_raw__item_embeddings')) %}
select
    encoder,
    item_id,
    len(embedding) as dim,
    {{ dimension_columns('embedding[{i} + 1] as e_{i}', max_dim) }}
from {{ ref('stg_raw__item_embeddings') }}
