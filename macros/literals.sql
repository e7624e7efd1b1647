{#
  Every value that comes from the data (file names, user ids, encoder names, category values) and
  enters SQL text goes through these macros, so a quote in the data can never change the query.
#}

{# A value as a SQL string literal. #}
{% macro sql_string(value) %}{{ return(adapter.dispatch('sql_string', 'userrep')(value)) }}{% endmacro %}

{% macro default__sql_string(value) -%}
  '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{# Spark reads a backslash in a string literal as an escape character. #}
{% macro spark__sql_string(value) -%}
  '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{# `column in ('a', 'b', ...)`, or `true` when values is none (no restriction); an empty list matches nothing. #}
{% macro in_list(column, values) -%}
  {%- if values is none -%}
    true
  {%- elif values | length == 0 -%}
    false
  {%- else -%}
    {{ column }} in ({% for value in values %}{{ sql_string(value) }}{{ ', ' if not loop.last }}{% endfor %})
  {%- endif -%}
{%- endmacro %}

{# A column name from the data (a user attribute) as a quoted identifier. #}
{% macro quote_name(name) %}{{ return(adapter.dispatch('quote_name', 'userrep')(name)) }}{% endmacro %}

{% macro default__quote_name(name) -%}
  "{{ name | replace('"', '""') }}"
{%- endmacro %}

{% macro spark__quote_name(name) -%}
  `{{ name | replace('`', '``') }}`
{%- endmacro %}
