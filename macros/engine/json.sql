{# A JSON document's field at `path` ('$.a.b') as text, NULL when absent. #}
{% macro json_text(document, path) %}{{ return(adapter.dispatch('json_text', 'userrep')(document, path)) }}{% endmacro %}
{% macro duckdb__json_text(document, path) -%}{{ document }} ->> {{ sql_string(path) }}{%- endmacro %}
{% macro spark__json_text(document, path) -%}get_json_object({{ document }}, {{ sql_string(path) }}){%- endmacro %}

{# A JSON document's field at `path` as JSON (DuckDB's JSON type; JSON text on Spark). #}
{% macro json_value(document, path) %}{{ return(adapter.dispatch('json_value', 'userrep')(document, path)) }}{% endmacro %}
{% macro duckdb__json_value(document, path) -%}{{ document }} -> {{ sql_string(path) }}{%- endmacro %}
{% macro spark__json_value(document, path) -%}get_json_object({{ document }}, {{ sql_string(path) }}){%- endmacro %}
