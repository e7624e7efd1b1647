{# A 64-bit hash of the given expressions (change detection, never identity). #}
{% macro hash64(expressions) %}{{ return(adapter.dispatch('hash64', 'userrep')(expressions)) }}{% endmacro %}
{% macro duckdb__hash64(expressions) -%}hash({{ expressions | join(', ') }}){%- endmacro %}
{% macro spark__hash64(expressions) -%}xxhash64({{ expressions | join(', ') }}){%- endmacro %}

{# The sha256 hex digest of `text` lines ordered by `order_by`, over the whole result (a window). #}
{% macro sha256_of_lines(text, order_by) %}{{ return(adapter.dispatch('sha256_of_lines', 'userrep')(text, order_by)) }}{% endmacro %}
{% macro duckdb__sha256_of_lines(text, order_by) -%}
  sha256(string_agg({{ text }}, chr(10) order by {{ order_by }}) over ())
{%- endmacro %}
{% macro spark__sha256_of_lines(text, order_by) -%}
  sha2(array_join(transform(array_sort(collect_list(struct({{ order_by }} as k, {{ text }} as v)) over ()), s -> s.v), char(10)), 256)
{%- endmacro %}

{# A comparable tuple of the given expressions, e.g. to take min_by(x, tuple_of([a, b])). #}
{% macro tuple_of(expressions) %}{{ return(adapter.dispatch('tuple_of', 'userrep')(expressions)) }}{% endmacro %}
{% macro duckdb__tuple_of(expressions) -%}row({{ expressions | join(', ') }}){%- endmacro %}
{% macro spark__tuple_of(expressions) -%}struct({{ expressions | join(', ') }}){%- endmacro %}
