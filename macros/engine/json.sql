{# A JSON document's field at `path` ('$.a.b') as text, NULL when absent. #}
{% macro json_text(document, path) %}{{ return(adapter.dispatch('json_text', 'userrep')(document, path)) }}{% endmacro %}
{% macro duckdb__json_text(document, path) -%}{{ document }} ->> {{ sql_string(path) }}{%- endmacro %}
{% macro spark__json_text(document, path) -%}get_json_object({{ document }}, {{ sql_string(path) }}){%- endmacro %}

{# A JSON document's field at `path` as JSON (DuckDB's JSON type; JSON text on Spark). #}
{% macro json_value(document, path) %}{{ return(adapter.dispatch('json_value', 'userrep')(document, path)) }}{% endmacro %}
{% macro duckdb__json_value(document, path) -%}{{ document }} -> {{ sql_string(path) }}{%- endmacro %}
{% macro spark__json_value(document, path) -%}get_json_object({{ document }}, {{ sql_string(path) }}){%- endmacro %}

{# The text of `field` in every object of the JSON array at `path`, as a list of strings. #}
{% macro json_text_of_each(document, path, field) %}{{ return(adapter.dispatch('json_text_of_each', 'userrep')(document, path, field)) }}{% endmacro %}
{% macro duckdb__json_text_of_each(document, path, field) -%}{{ document }} ->> {{ sql_string(path ~ '[*].' ~ field) }}{%- endmacro %}
{#- get_json_object unwraps a wildcard path's single match, so the array is parsed whole instead -#}
{% macro spark__json_text_of_each(document, path, field) -%}
  transform(from_json(get_json_object({{ document }}, {{ sql_string(path) }}), {{ sql_string('array<struct<' ~ field ~ ': string>>') }}), x -> x.{{ field }})
{%- endmacro %}
