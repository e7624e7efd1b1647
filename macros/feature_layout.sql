{#
  The feature layout as the models that build features read it: the rows of feature_schema (one
  query), so the layout is decided in one place.
#}
{% macro feature_layout() %}
  {%- set relation = ref('feature_schema') -%}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set groups = [] -%}
  {%- set table = run_query("select group_name, kind, encoder, horizon_days, modality, detail, feature_offset, dim from "
                             ~ relation ~ " order by group_index") -%}
  {%- for row in table.rows -%}
    {%- do groups.append({'index': loop.index0, 'name': row[0], 'kind': row[1], 'encoder': row[2], 'horizon': row[3], 'modality': row[4],
                          'detail': row[5], 'offset': row[6], 'dim': row[7]}) -%}
  {%- endfor -%}
  {{ return(groups) }}
{% endmacro %}

{# The encoders of a layout: name, dim and modality, in layout order. #}
{% macro layout_encoders(layout) %}
  {{ return(layout | selectattr('kind', 'equalto', 'onboarding_mean') | list) }}
{% endmacro %}

{# The widest encoder's dim (1 when there is none): the number of e_i / s_i columns. #}
{% macro layout_max_dim(layout) %}
  {%- set dims = layout_encoders(layout) | map(attribute='dim') | list -%}
  {{ return(dims | max if dims else 1) }}
{% endmacro %}

{#
  A calendar feature from a number of days: whole log2 steps of weeks, floor(log2(1 + days / 7)),
  0 for no days (NULL) or fewer than 7. It moves on 7, 21, 49, 105, ... days, so a quiet user's
  value stays put on most days. The 1e-9 guards engines that compute log2 as ln(x) / ln(2), where
  an exact power of two could land a hair below its step; below 14 million days no other count
  comes within 1e-7 of a step, so it moves nothing else.
#}
{% macro log2_weeks(days) -%}
  floor(log2(1 + greatest(coalesce({{ days }}, 0), 0) / 7.0) + 1e-9)
{%- endmacro %}
