{#
  FLOAT lists. DuckDB indexes lists from 1 and Spark from 0 (the DuckDB form runs on Spark and
  silently returns the next element), so every element access goes through list_element; a
  position past the end is NULL on both.
#}

{# The element at 0-based position `index` of `list`. #}
{% macro list_element(list, index) %}{{ return(adapter.dispatch('list_element', 'userrep')(list, index)) }}{% endmacro %}
{% macro duckdb__list_element(list, index) -%}{{ list }}[{{ index | int + 1 }}]{%- endmacro %}
{% macro spark__list_element(list, index) -%}try_element_at({{ list }}, {{ index | int + 1 }}){%- endmacro %}

{# A FLOAT list of the given SQL expressions. #}
{% macro float_list(expressions) %}{{ return(adapter.dispatch('float_list', 'userrep')(expressions)) }}{% endmacro %}
{% macro duckdb__float_list(expressions) -%}[{{ expressions | join(', ') }}]::float[]{%- endmacro %}
{% macro spark__float_list(expressions) -%}
  array({% for e in expressions %}cast({{ e }} as float){{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{# A FLOAT list of `dim` zeros. #}
{% macro zeros(dim) %}{{ return(adapter.dispatch('zeros', 'userrep')(dim)) }}{% endmacro %}
{% macro duckdb__zeros(dim) -%}list_resize([]::float[], {{ dim | int }}, 0::float){%- endmacro %}
{% macro spark__zeros(dim) -%}array_repeat(cast(0 as float), {{ dim | int }}){%- endmacro %}

{# FLOAT lists concatenated in order. #}
{% macro concat_lists(lists) %}{{ return(adapter.dispatch('concat_lists', 'userrep')(lists)) }}{% endmacro %}
{% macro duckdb__concat_lists(lists) -%}
  list_concat(
    {{ lists | join(',\n    ') }}
  )
{%- endmacro %}
{% macro spark__concat_lists(lists) -%}
  concat(
    {{ lists | join(',\n    ') }}
  )
{%- endmacro %}

{# Whether `list` has a NULL, NaN or infinite element. #}
{% macro has_non_finite(list) %}{{ return(adapter.dispatch('has_non_finite', 'userrep')(list)) }}{% endmacro %}
{% macro duckdb__has_non_finite(list) -%}
  list_bool_or(list_transform({{ list }}, lambda x: x is null or not isfinite(x)))
{%- endmacro %}
{% macro spark__has_non_finite(list) -%}
  exists({{ list }}, x -> x is null or isnan(x) or abs(x) = double('Infinity'))
{%- endmacro %}

{# An aggregate: the values of `expr` as a sorted list (NULL over no rows). #}
{% macro sorted_list(expr) %}{{ return(adapter.dispatch('sorted_list', 'userrep')(expr)) }}{% endmacro %}
{% macro duckdb__sorted_list(expr) -%}list({{ expr }} order by {{ expr }}){%- endmacro %}
{% macro spark__sorted_list(expr) -%}array_sort(collect_list({{ expr }})){%- endmacro %}

{# The inner product of two FLOAT lists of one length (the cosine of unit vectors). #}
{% macro inner_product(a, b) %}{{ return(adapter.dispatch('inner_product', 'userrep')(a, b)) }}{% endmacro %}
{% macro duckdb__inner_product(a, b) -%}array_inner_product({{ a }}, {{ b }}){%- endmacro %}
{% macro spark__inner_product(a, b) -%}
  cast(aggregate(zip_with({{ a }}, {{ b }}, (x, y) -> cast(x as double) * y), cast(0 as double), (total, v) -> total + v) as float)
{%- endmacro %}

{# A struct of (name, SQL expression) pairs. #}
{% macro struct_of(pairs) %}{{ return(adapter.dispatch('struct_of', 'userrep')(pairs)) }}{% endmacro %}
{% macro duckdb__struct_of(pairs) -%}
  { {%- for name, expression in pairs %}{{ sql_string(name) }}: {{ expression }}{{ ', ' if not loop.last }}{% endfor -%} }
{%- endmacro %}
{% macro spark__struct_of(pairs) -%}
  named_struct({%- for name, expression in pairs %}{{ sql_string(name) }}, {{ expression }}{{ ', ' if not loop.last }}{% endfor -%})
{%- endmacro %}

{# A FROM-clause item: one row per element of `list`, as columns `element` and `position` (1-based). #}
{% macro ranked_elements(list, element, position) %}{{ return(adapter.dispatch('ranked_elements', 'userrep')(list, element, position)) }}{% endmacro %}
{% macro duckdb__ranked_elements(list, element, position) -%}
  unnest({{ list }}) with ordinality as ranked({{ element }}, {{ position }})
{%- endmacro %}
{% macro spark__ranked_elements(list, element, position) -%}
  lateral inline(transform({{ list }}, (x, i) -> struct(x as {{ element }}, i + 1 as {{ position }}))) as ranked({{ element }}, {{ position }})
{%- endmacro %}
