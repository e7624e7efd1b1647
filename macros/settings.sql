{#
  The project's settings: where the raw files are, and the vars, checked once at the start of a
  run so that a bad value stops it with one line naming the var.
#}

{# The raw data directory: USERREP_RAW_DIR, else <USERREP_HOME>/raw (home: the project directory). #}
{% macro raw_dir() %}
  {%- set home = env_var('USERREP_HOME', '.') | replace('\\', '/') -%}
  {{ return(env_var('USERREP_RAW_DIR', home.rstrip('/') ~ '/raw').rstrip('/')) }}
{% endmacro %}

{# The horizons in days, ascending; a bad value stops the run here, already when dbt parses the project. #}
{% macro horizons() %}
  {%- set horizons = var('horizons') -%}
  {%- if horizons is string or horizons is not iterable or horizons | length == 0
        or horizons | reject('integer') | list | length > 0 or horizons | select('lt', 1) | list | length > 0
        or horizons | unique | list | length != horizons | length -%}
    {{ exceptions.raise_compiler_error("var horizons must be a non-empty list of distinct whole numbers of days, each >= 1 (got "
                                       ~ horizons ~ ")") }}
  {%- endif -%}
  {{ return(horizons | map('int') | sort) }}
{% endmacro %}

{#
  Events later than this instant are quarantined as future_timestamp, whatever as_of is: a clock
  error in one producer must not move every user's windows. The start of the run plus a skew.
#}
{% macro clock_cut() %}
  {%- set cut = run_started_at + modules.datetime.timedelta(minutes=var('max_clock_skew_minutes') | int) -%}
  {{ return("cast('" ~ cut.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as timestamp)") }}
{% endmacro %}

{% macro validate_vars() %}
  {%- do horizons() -%}
  {%- set problems = [] -%}
  {%- set as_of = var('as_of') -%}
  {%- if as_of is not none and not modules.re.match('^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$', as_of | string) -%}
    {%- do problems.append("var as_of must be a date YYYY-MM-DD or null (got " ~ as_of ~ ")") -%}
  {%- endif -%}
  {%- set encoders = var('encoders') -%}
  {%- if encoders is not none and (encoders is string or encoders is not iterable or encoders | length == 0
        or encoders | reject('string') | list | length > 0) -%}
    {%- do problems.append("var encoders must be null or a non-empty list of encoder names (got " ~ encoders ~ ")") -%}
  {%- endif -%}
  {%- for name, minimum in [('events_per_range', 1), ('max_clock_skew_minutes', 0), ('max_category_values', 1), ('max_listed_users', 0)] -%}
    {%- set value = var(name) -%}
    {%- if value is not integer or value is sameas true or value is sameas false or value < minimum -%}
      {%- do problems.append("var " ~ name ~ " must be a whole number >= " ~ minimum ~ " (got " ~ value ~ ")") -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if var('time_features') not in ['sliding', 'anchored'] -%}
    {%- do problems.append("var time_features must be sliding or anchored (got " ~ var('time_features') ~ ")") -%}
  {%- endif -%}
  {%- if problems -%}
    {{ exceptions.raise_compiler_error(problems | join('; ')) }}
  {%- endif -%}
{% endmacro %}

{# Weights above this are refused (weight_out_of_range): sums of their products with embeddings would overflow FLOAT. #}
{% macro max_weight() %}{{ return('1e30') }}{% endmacro %}

{# When this dbt invocation started (UTC), as a SQL timestamp: the run plan's key and every row's planned_at. #}
{% macro run_started_at_sql() %}
  {{ return("cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as timestamp)") }}
{% endmacro %}

{#
  The day each user's horizons end on, as SQL over a relation aliased last_active (a row of
  int_users_last_active) for time_features anchored; as_of for sliding.
#}
{% macro horizons_end(plan) %}
  {{ return('last_active.last_event_day' if var('time_features') == 'anchored' else plan.as_of) }}
{% endmacro %}
