{# `expr` is a finite number (not NULL, NaN or infinite). DuckDB treats NaN as equal to itself. #}
{% macro is_finite(expr) %}{{ return(adapter.dispatch('is_finite', 'userrep')(expr)) }}{% endmacro %}

{% macro duckdb__is_finite(expr) -%}
  coalesce(isfinite({{ expr }}), false)
{%- endmacro %}

{% macro spark__is_finite(expr) -%}
  coalesce(not isnan({{ expr }}) and abs({{ expr }}) != double('Infinity'), false)
{%- endmacro %}

{# A text or numeric raw value as DOUBLE, NULL when it is not a number. #}
{% macro try_double(expr) %}{{ return(adapter.dispatch('try_double', 'userrep')(expr)) }}{% endmacro %}

{% macro default__try_double(expr) -%}
  try_cast({{ expr }} as double)
{%- endmacro %}
