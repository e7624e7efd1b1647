{#-
  Grain: one row per feature group of user_features.features, in canonical order. schema_hash
  (sha256 over every group's name, kind, encoder, horizon, modality, detail, offset and dim)
  is what training records and inference checks. userrep.schema.schema_hash recomputes it.
-#}
{%- set layout = feature_layout(ref('stg_raw__item_embeddings'), ref('stg_raw__items'), ref('stg_raw__users')) %}
with groups as (
    {%- for group in layout %}
    select
        {{ loop.index0 }} as group_index,
        '{{ group.name }}' as group_name,
        '{{ group.kind }}' as kind,
        {{ "'" ~ group.encoder ~ "'" if group.encoder else 'null' }}::varchar as encoder,
        {{ group.horizon if group.horizon else 'null' }}::integer as horizon_days,
        {{ "'" ~ group.modality ~ "'" if group.modality else 'null' }}::varchar as modality,
        '{{ group.detail | replace("'", "''") }}' as detail,
        {{ group.offset }} as feature_offset,
        {{ group.dim }} as dim,
        '{{ feature_group_hash_line(group) | replace("'", "''") }}' as hash_line
    {{ 'union all' if not loop.last }}
    {%- endfor %}
)

select
    * exclude (hash_line),
    sha256(string_agg(hash_line, chr(10) order by group_index) over ()) as schema_hash
from groups
