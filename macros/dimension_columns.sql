{#
  Repetitive per-dimension SQL: `template` rendered once per dimension with `{i}` replaced by the
  0-based dimension index, e.g. dimension_columns('sum(s_{i}) as s_{i}', 64).
#}
{% macro dimension_expressions(template, dims) %}
  {%- set parts = [] -%}
  {%- for i in range(dims | int) -%}
    {%- do parts.append(template | replace('{i}', i | string)) -%}
  {%- endfor -%}
  {{ return(parts) }}
{% endmacro %}

{% macro dimension_columns(template, dims) %}
  {{ return(dimension_expressions(template, dims) | join(',\n    ')) }}
{% endmacro %}
