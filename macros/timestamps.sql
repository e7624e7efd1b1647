{#
  A raw timestamp column as a UTC TIMESTAMP. For TIMESTAMP WITH TIME ZONE the wall time is taken
  from the epoch: the same UTC value as a cast under TimeZone=UTC, whatever the session's time
  zone, and about five times cheaper (the cast converts through ICU time zone rules row by row,
  0.4 s per 5.8M events on this project's 2-core machine; it ran in every pass over the events).
  Other types are cast.
#}
{% macro utc_timestamp(relation, name) %}
  {%- set types = [] -%}
  {%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(relation) if column.name | lower == name -%}
      {%- do types.append(column.data_type | lower) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if types and 'with time zone' in types[0] -%}
    make_timestamp(epoch_us({{ name }}))
  {%- else -%}
    cast({{ name }} as timestamp)
  {%- endif -%}
{% endmacro %}
