{#
  A column type as the engine spells it. Models write `string` (DuckDB's alias of VARCHAR; Spark
  wants a length for VARCHAR); the raw contract and the contracts name DuckDB's types, which
  Spark spells differently.
#}
{% macro sql_type(data_type) %}{{ return(adapter.dispatch('sql_type', 'userrep')(data_type)) }}{% endmacro %}

{% macro default__sql_type(data_type) %}{{ return(data_type) }}{% endmacro %}

{% macro spark__sql_type(data_type) %}
  {%- set name = data_type | lower | trim -%}
  {%- if name.endswith(']') -%}
    {{ return('array<' ~ spark__sql_type(name[:name.rindex('[')]) ~ '>') }}
  {%- endif -%}
  {{ return({'varchar': 'string', 'text': 'string', 'timestamptz': 'timestamp', 'timestamp with time zone': 'timestamp',
             'ubigint': 'bigint', 'hugeint': 'decimal(38, 0)'}.get(name, name)) }}
{% endmacro %}
