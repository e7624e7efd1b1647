{# Daily sums for one user range (see user_ranges.sql). #}
{% macro user_encoder_days_sql(user_range='true') %}
{#- One branch per encoder, each summing only its own dimensions (the rest are constant NULLs):
    the events are deduplicated once and every SUM does useful work. -#}
{%- set encoders = encoder_dims(ref('stg_raw__item_embeddings')) %}
{%- set max_dim = max_encoder_dim(ref('stg_raw__item_embeddings')) %}
with events as materialized (
    select *, cast(weight as float) as weight_float from ({{ events_to_aggregate() }}) as events
    where {{ user_range }}
)
{%- for enc in encoders %}

select
    events.user_id,
    '{{ enc.encoder | replace("'", "''") }}' as encoder,
    events.event_day,
    count(*) as event_count,
    {{ dbt.current_timestamp() }} as built_at,
    sum(events.weight) as weight_sum,
    {#- FLOAT products (summed in DOUBLE): the embeddings are FLOAT, so a DOUBLE product adds no
        precision worth keeping, and it was about 10% of this query #}
    {{ dimension_columns('cast(sum(events.weight_float * embeddings.e_{i}) as float) as s_{i}', enc.dim) }}
    {%- if enc.dim < max_dim %},
    {{ dimension_columns('cast(null as float) as s_{i}', max_dim, start=enc.dim) }}
    {%- endif %}
from events
inner join {{ ref('int_item_embeddings_pivoted') }} as embeddings
    on embeddings.item_id = events.item_id and embeddings.encoder = '{{ enc.encoder | replace("'", "''") }}'
group by events.user_id, events.event_day
{{ 'union all' if not loop.last }}
{%- endfor %}
{%- if not encoders %}
select
    user_id, cast(null as varchar) as encoder, event_day, count(*) as event_count,
    {{ dbt.current_timestamp() }} as built_at, sum(weight) as weight_sum, cast(null as float) as s_0
from events where false group by all
{%- endif %}
{% endmacro %}

{% macro user_modality_days_sql(user_range='true') %}
select
    events.user_id,
    items.modality,
    events.event_day,
    count(*) as event_count,
    {{ dbt.current_timestamp() }} as built_at,
    sum(events.weight) as weight_sum
from ({{ events_to_aggregate() }}) as events
inner join {{ ref('stg_raw__items') }} as items
    on items.item_id = events.item_id
where {{ user_range }}
group by all
{% endmacro %}
