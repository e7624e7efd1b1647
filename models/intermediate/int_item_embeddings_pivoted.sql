{#- Grain: encoder x item. The embedding spread into columns e_0..e_{n-1} (NULL past the encoder's dim), so that per-user sums are plain column SUMs. -#}
{%- set max_dim = layout_max_dim(feature_layout()) %}
select
    encoder,
    item_id,
    {%- for i in range(max_dim) %}
    {{ list_element('embedding', i) }} as e_{{ i }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ ref('stg_raw__item_embeddings') }}
