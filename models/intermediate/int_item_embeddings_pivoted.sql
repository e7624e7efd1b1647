{#- Grain: encoder x item. The embedding as a list, its row in the encoder's item matrix (item_number, 0-based in item_id order), and spread into columns e_0..e_{n-1} (NULL past the encoder's dim) for the engines that sum one column per dimension. -#}
{%- set max_dim = layout_max_dim(feature_layout()) %}
select
    encoder,
    item_id,
    cast(row_number() over (partition by encoder order by item_id) - 1 as integer) as item_number,
    embedding,
    {%- for i in range(max_dim) %}
    {{ list_element('embedding', i) }} as e_{{ i }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ ref('stg_raw__item_embeddings') }}
