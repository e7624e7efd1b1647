{#
  The run plan, as the models that follow it read it: one macro, run_plan(), returns the current
  plan (the newest row of the run_plan model) with the work it covers. A run's work is everything
  planned since the last run that completed (complete_run_plan below), so a run that stopped
  partway leaves its work to the next one. Constant lists (files, users) come back as Python
  lists, for filters that must reach the parquet scan as literals.
#}
{% macro run_plan() %}
  {%- set plan_relation = ref('run_plan') -%}
  {%- if not execute -%}
    {{ return({'as_of': "cast('1970-01-01' as date)", 'window_start': "cast('1970-01-01' as date)", 'incremental': false,
               'rebuild': true, 'everyone': true, 'users': none, 'new_users': [], 'new_event_files': [], 'event_files_in_window': [],
               'user_ranges': [[none, none]], 'work_since': 'null'}) }}
  {%- endif -%}
  {%- set row = run_query("select cast(as_of as string), cast(window_start as string), rebuild, everyone, "
        ~ "cast(work_since as string), event_files_in_window, new_event_files, users, user_range_bounds, user_count, "
        ~ "new_users, new_user_count from "
        ~ plan_relation ~ " order by planned_at desc limit 1").rows[0] -%}
  {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) if this is not none else none -%}
  {#- a model replaces every row when the plan rebuilds, on --full-refresh, and when it has no table yet -#}
  {%- set incremental = existing is not none and existing.is_table and not flags.FULL_REFRESH and not row[2]
                        and row[4] is not none -%}
  {%- set everyone = row[3] or not incremental -%}
  {{ return({
        'as_of': "cast(" ~ sql_string(row[0]) ~ " as date)",
        'window_start': "cast(" ~ sql_string(row[1]) ~ " as date)",
        'incremental': incremental,
        'everyone': everyone,
        'work_since': "cast(" ~ sql_string(row[4]) ~ " as timestamp)" if row[4] is not none else 'null',
        'event_files_in_window': event_file_paths(list_value(row[5])),
        'new_event_files': event_file_paths(list_value(row[6])),
        'users': none if everyone else ([] if row[9] == 0 else ('ledger' if row[7] is none else list_value(row[7]))),
        'new_users': [] if row[11] == 0 else ('ledger' if row[10] is none else list_value(row[10])),
        'user_ranges': user_range_pairs(list_value(row[8]))}) }}
{% endmacro %}

{# A list column as run_query returns it (JSON text on some adapters) as a list; NULL as []. #}
{% macro list_value(value) %}
  {%- if value is none -%}{{ return([]) }}{%- endif -%}
  {{ return(fromjson(value) if value is string else value | list) }}
{% endmacro %}

{# Paths relative to the raw directory (as the ledger keeps them) as the paths the engine reads. #}
{% macro event_file_paths(source_files) %}
  {%- set paths = [] -%}
  {%- for source_file in source_files or [] -%}{%- do paths.append(raw_dir() ~ '/' ~ source_file) -%}{%- endfor -%}
  {{ return(paths) }}
{% endmacro %}

{#
  Placeholder for the user range of a ranged full build (see the ranged_incremental
  materialization): on its own it is `true`, and the materialization runs the model once per range
  with the range's bounds in its place.
#}
{% macro user_range(column) -%}
  {%- set ranges_from = ref('run_plan') -%}
  /*user_range:{{ column }}*/ true
{%- endmacro %}

{# The plan's user ranges as (low, high) pairs of user ids, none where a range is open. #}
{% macro user_range_pairs(bounds) %}
  {%- set edges = [none] + (bounds or []) + [none] -%}
  {%- set pairs = [] -%}
  {%- for i in range(edges | length - 1) -%}{%- do pairs.append([edges[i], edges[i + 1]]) -%}{%- endfor -%}
  {{ return(pairs) }}
{% endmacro %}

{#
  The users of the plan's work as a filter on `column`: `true` when everyone is recomputed, else the
  users as a constant list (it reaches the parquet scan and the zone maps), or a semi-join on the
  user ledger when the plan holds too many to list.
#}
{% macro planned_users(plan, column) -%}
  {{ listed_users(plan, plan.users, 'planned_at', column) }}
{%- endmacro %}

{#
  The plan's new users (new to the users source) as the same kind of filter: their events may lie
  in files summed before they arrived, so a model reads them from every file.
#}
{% macro new_users(plan, column) -%}
  {{ listed_users(plan, plan.new_users, 'first_planned_at', column) }}
{%- endmacro %}

{# `listed` as run_plan() gives it (none: everyone, 'ledger': the ledger's rows whose `since` falls in the work, else ids) #}
{% macro listed_users(plan, listed, since, column) -%}
  {%- set ledger = ref('run_plan_users') -%}
  {%- if listed == 'ledger' -%}
    {{ column }} in (select user_id from {{ ledger }} where {{ since }} > {{ plan.work_since }})
  {%- else -%}
    {{ in_list(column, listed) }}
  {%- endif -%}
{%- endmacro %}

{#
  on-run-end: a run's plan is complete once every model that carries out its work has succeeded in
  one invocation. The next plan then starts its work after this one; until then each plan also
  covers the unfinished work of the plans before it.
#}
{% macro complete_run_plan(results) %}
  {%- if execute -%}
    {%- set consumers = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and 'plan_work' in node.tags -%}
      {%- do consumers.append(node.unique_id) -%}
    {%- endfor -%}
    {%- set succeeded = [] -%}
    {%- for result in results if result.node.unique_id in consumers and result.status == 'success' -%}
      {%- do succeeded.append(result.node.unique_id) -%}
    {%- endfor -%}
    {%- set plan = adapter.get_relation(target.database, target.schema, 'run_plan') -%}
    {%- if plan is not none and consumers | length > 0 and succeeded | length == consumers | length -%}
      {%- do adapter.dispatch('complete_run_plan', 'userrep')(plan) -%}
    {%- endif -%}
  {%- endif -%}
{% endmacro %}

{% macro duckdb__complete_run_plan(plan) %}
  {%- do run_query("update " ~ plan ~ " set completed_at = now() where completed_at is null and planned_at = (select max(planned_at) from " ~ plan ~ ")") -%}
{% endmacro %}

{# Spark has no UPDATE on parquet: the run plan is written anew with the newest plan completed. #}
{% macro spark__complete_run_plan(plan) %}
  {%- set columns = [] -%}
  {%- for column in adapter.get_columns_in_relation(plan) -%}
    {%- do columns.append(
          "case when completed_at is null and planned_at = (select max(planned_at) from " ~ plan ~ ") "
          ~ "then current_timestamp() else completed_at end as completed_at" if column.name == 'completed_at' else column.quoted) -%}
  {%- endfor -%}
  {%- do run_query(spark_swap_in(plan, "select " ~ columns | join(', ') ~ " from " ~ plan, contract=false)) -%}
{% endmacro %}
