{#
  A raw timestamp column as a UTC TIMESTAMP, or NULL when the value cannot be read as a time.
  The raw contract allows TIMESTAMP WITH TIME ZONE, TIMESTAMP (UTC) and text; files that disagree
  on the type arrive as text. Engine differences live in the dispatched forms.
#}
{% macro utc_timestamp(relation, name) %}
  {%- set types = [] -%}
  {%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(relation) if column.name | lower == name -%}
      {%- do types.append(column.data_type | lower) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(adapter.dispatch('utc_timestamp', 'userrep')(name, types[0] if types else 'timestamp')) }}
{% endmacro %}

{#
  DuckDB: a TIMESTAMP WITH TIME ZONE becomes wall time from the epoch, the same UTC value as a cast
  under TimeZone=UTC and much cheaper (the cast goes through ICU time zone rules row by row).
#}
{% macro duckdb__utc_timestamp(name, data_type) -%}
  {%- if 'with time zone' in data_type -%}
    make_timestamp(epoch_us({{ name }}))
  {%- elif 'char' in data_type or 'text' in data_type or 'string' in data_type -%}
    make_timestamp(epoch_us(try_cast({{ name }} as timestamp with time zone)))
  {%- else -%}
    try_cast({{ name }} as timestamp)
  {%- endif -%}
{%- endmacro %}

{% macro spark__utc_timestamp(name, data_type) -%}
  try_cast({{ name }} as timestamp)
{%- endmacro %}

{# A timestamp earlier than every other, for comparisons (Spark has no infinite timestamps). #}
{% macro timestamp_before_all() %}{{ return(adapter.dispatch('timestamp_before_all', 'userrep')()) }}{% endmacro %}
{% macro duckdb__timestamp_before_all() -%}'-infinity'::timestamptz{%- endmacro %}
{% macro spark__timestamp_before_all() -%}timestamp'0001-01-01 00:00:00'{%- endmacro %}
