{# The day the features describe, as a SQL date expression (resolved once per run in stg_raw__as_of). #}
{% macro as_of() %}(select as_of from {{ ref('stg_raw__as_of') }}){% endmacro %}

{#
  Daily rows of `relation` with age_days = days before as_of (0 on as_of itself). A horizon of
  h days is `age_days < h`: the h days ending on as_of, inclusive.
#}
{% macro with_age_days(relation) %}
    select daily.*, date_diff('day', daily.event_day, run.as_of) as age_days
    from {{ relation }} as daily
    cross join {{ ref('stg_raw__as_of') }} as run
{% endmacro %}

{#
  The first day the longest horizon reaches (as_of - max(horizons) + 1) as a SQL date literal, so
  that daily models filter on a constant the parquet scan can use. Days before it cannot reach
  any feature. Read from stg_raw__as_of at execution time; a placeholder at parse time.
#}
{% macro horizon_window_start() %}
  {%- if not execute -%}{{ return("date '1970-01-01'") }}{%- endif -%}
  {%- set as_of_day = run_query("select as_of from " ~ ref('stg_raw__as_of')).columns[0].values()[0] -%}
  {{ return("(date '" ~ as_of_day ~ "' - " ~ (var('horizons') | max - 1) ~ ")") }}
{% endmacro %}

{#
  Daily tables hold the days after horizon_window_start() only. They are kept incrementally, so
  as_of may move forward (old days age out and are pruned) but not back: the days a smaller
  as_of would need were never summed.
#}
{% macro require_as_of_not_moved_back() %}
  {%- if not execute -%}{{ return('') }}{%- endif -%}
  {%- set previous = adapter.get_relation(this.database, this.schema, 'user_features') -%}
  {%- if previous is none -%}{{ return('') }}{%- endif -%}
  {%- set row = run_query("select max(previous.as_of), any_value(current_run.as_of) from " ~ previous
                          ~ " as previous cross join " ~ ref('stg_raw__as_of') ~ " as current_run").rows[0] -%}
  {%- if row[0] is not none and row[1] < row[0] -%}
    {{ exceptions.raise_compiler_error("as_of moved back from " ~ row[0] ~ " to " ~ row[1] ~ ": the incremental daily sums "
       ~ "only cover days the previous as_of could reach. Rebuild them with `dbt build --full-refresh`.") }}
  {%- endif -%}
{% endmacro %}

{# bucket_0.<column> + ... + bucket_<k>.<column>, a missing bucket counting 0: horizon k from disjoint age buckets. #}
{% macro bucket_total(column, k) -%}
  {%- for b in range(k + 1) %}coalesce(bucket_{{ b }}.{{ column }}, 0){{ ' + ' if not loop.last }}{% endfor -%}
{%- endmacro %}
