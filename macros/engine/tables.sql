{# Deletes the rows of `relation` matching `condition`: SQL for a hook (Spark has no DELETE on parquet, so its form rewrites the table itself and returns none). #}
{% macro delete_rows(relation, condition) %}{{ return(adapter.dispatch('delete_rows', 'userrep')(relation, condition)) }}{% endmacro %}
{% macro duckdb__delete_rows(relation, condition) -%}delete from {{ relation }} where {{ condition }}{%- endmacro %}
{% macro spark__delete_rows(relation, condition) -%}{{ spark_delete_rows(relation, condition) }}{%- endmacro %}
