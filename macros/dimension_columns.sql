{#
  Repetitive per-dimension SQL. `template` is rendered once per dimension with `{i}` replaced by
  the dimension index (0-based), e.g. dimension_columns('sum(weight * e_{i}) as s_{i}', 64).
  `start` skips the first dimensions (dimension_columns(t, 64, start=32) renders 32..63).
#}
{% macro dimension_columns(template, dims, separator=',\n    ', start=0) %}
  {%- set parts = [] -%}
  {%- for i in range(start | int, dims | int) -%}
    {%- do parts.append(template | replace('{i}', i | string)) -%}
  {%- endfor -%}
  {{ parts | join(separator) }}
{% endmacro %}

{# A FLOAT list of the first `dim` of `max_dim` columns named `<prefix><i>`, each optionally transformed. #}
{% macro float_list(prefix, max_dim, dim_expr, element_template='{col}') %}
  {{ return(adapter.dispatch('float_list', 'userrep')(prefix, max_dim, dim_expr, element_template)) }}
{% endmacro %}

{% macro default__float_list(prefix, max_dim, dim_expr, element_template) -%}
  list_slice([{{ dimension_columns(element_template | replace('{col}', prefix ~ '{i}'), max_dim, ', ') }}]::float[], 1, {{ dim_expr }})
{%- endmacro %}

{# A FLOAT list of `dim` zeros. #}
{% macro zeros(dim) %}{{ return(adapter.dispatch('zeros', 'userrep')(dim)) }}{% endmacro %}
{% macro default__zeros(dim) -%}list_resize([]::float[], {{ dim | int }}, 0::float){%- endmacro %}

{# Concatenate FLOAT lists in order. #}
{% macro concat_lists(lists) %}{{ return(adapter.dispatch('concat_lists', 'userrep')(lists)) }}{% endmacro %}
{% macro default__concat_lists(lists) -%}
  flatten([
    {{ lists | join(',\n    ') }}
  ])::float[]
{%- endmacro %}
