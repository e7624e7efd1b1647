{{ config(materialized='view') }}
{#-
  Grain: user x encoder, for users who picked items with that encoder's embeddings at sign-up: the
  plain mean embedding of the picks. One branch per encoder, so that only its own dimensions are
  summed; a filter on user_id reaches the picks.
-#}
with picks as (
    select user_id, item_id from {{ ref('stg_raw__onboarding') }}
),

embeddings as (
    select * from {{ ref('int_item_embeddings_pivoted') }}
)
{%- for enc in layout_encoders(feature_layout()) %}

select
    picks.user_id,
    {{ sql_string(enc.encoder) }} as encoder,
    count(*) as pick_count,
    {{ float_list(dimension_expressions('sum(embeddings.e_{i}) / count(*)', enc.dim)) }} as mean_embedding
from picks
inner join embeddings
    on embeddings.item_id = picks.item_id and embeddings.encoder = {{ sql_string(enc.encoder) }}
group by picks.user_id
{{ 'union all' if not loop.last }}
{%- else %}

select user_id, cast(null as string) as encoder, 0 as pick_count, cast(null as {{ sql_type('float[]') }}) as mean_embedding
from picks
where false
{%- endfor %}
