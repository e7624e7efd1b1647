{#
  ranged_incremental: the materialization of the models that carry out the run plan's work.

  Full build (first build, --full-refresh, or a plan that asks for a rebuild): the model's SQL runs
  once per user range of the plan, each range's statement filling the same new table, so only one
  range's aggregation state is in memory at a time; the new table then replaces the old one. The
  model marks where the range applies with {{ user_range('column') }}, which is `true` on its own.
  Incremental: the model's SQL returns the rows of the plan's users; rows with the same
  `unique_key` are replaced (delete+insert), other rows are kept as they are.
  `prune_before_window` (a date column): rows older than the plan's window start are deleted.
  `skip_unchanged` (columns): an incremental run leaves out the model's rows whose key and these
  columns equal a stored row's, which stays as it is (its timestamps included). Done on the
  written rows, not inside the model's SQL, so that the comparison reads narrow columns only.
  `as_of_column` (a date column): an incremental run moves the kept rows to the plan's as_of, for
  a model whose rows say which day they describe and whose unchanged rows are skipped.
#}
{% materialization ranged_incremental, adapter='duckdb' %}
  {%- set plan = run_plan() -%}
  {%- set unique_key = config.require('unique_key') -%}
  {%- set keys = [unique_key] if unique_key is string else unique_key -%}
  {%- set prune_column = config.get('prune_before_window') -%}
  {%- set existing = load_cached_relation(this) -%}
  {%- set target = this.incorporate(type='table') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- if not plan.incremental -%}
    {%- do build_in_user_ranges(existing, target, plan.user_ranges) -%}
  {%- else -%}
    {%- set new_rows = make_temp_relation(target) -%}
    {%- call statement('new_rows') -%}
      create temporary table {{ new_rows.identifier }} as {{ sql_for_user_range(compiled_code, [none, none]) }}
    {%- endcall -%}
    {%- if config.get('skip_unchanged') -%}
      {%- set compared = keys + config.get('skip_unchanged') -%}
      {%- call statement('skip_unchanged') -%}
        delete from {{ new_rows.identifier }}
        where ({{ compared | join(', ') }}) in (select {{ compared | join(', ') }} from {{ target }})
      {%- endcall -%}
    {%- endif -%}
    {%- call statement('main') -%}
      delete from {{ target }}
      where ({{ keys | join(', ') }}) in (select {{ keys | join(', ') }} from {{ new_rows.identifier }});
      insert into {{ target }} by name (select * from {{ new_rows.identifier }});
      drop table {{ new_rows.identifier }}
    {%- endcall -%}
  {%- endif -%}

  {%- if prune_column and plan.incremental -%}
    {%- call statement('prune') -%}
      delete from {{ target }} where {{ prune_column }} < {{ plan.window_start }}
    {%- endcall -%}
  {%- endif -%}

  {%- set as_of_column = config.get('as_of_column') -%}
  {%- if as_of_column and plan.incremental -%}
    {%- call statement('as_of') -%}
      update {{ target }} set {{ as_of_column }} = {{ plan.as_of }} where {{ as_of_column }} <> {{ plan.as_of }}
    {%- endcall -%}
  {%- endif -%}

  {% do persist_docs(target, model) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do adapter.commit() %}
  {%- if not plan.incremental and existing is not none -%}
    {% do adapter.drop_relation(make_backup_relation(target, 'table')) %}
  {%- endif -%}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target]}) }}
{% endmaterialization %}

{# The model's compiled SQL with every user_range placeholder replaced by one range's bounds. #}
{% macro sql_for_user_range(sql, bounds) %}
  {%- set result = namespace(sql=sql) -%}
  {%- for column in modules.re.findall('/\\*user_range:([^*]+)\\*/ true', sql) | unique -%}
    {%- set conditions = [] -%}
    {%- if bounds[0] is not none -%}{%- do conditions.append(column ~ ' >= ' ~ sql_string(bounds[0])) -%}{%- endif -%}
    {%- if bounds[1] is not none -%}{%- do conditions.append(column ~ ' < ' ~ sql_string(bounds[1])) -%}{%- endif -%}
    {#- a bare `true`, not `(true)`: Spark 4.3 fails `where (true)` on a view (ASSIGNMENT_ARITY_MISMATCH) -#}
    {%- set result.sql = result.sql | replace('/*user_range:' ~ column ~ '*/ true', '(' ~ conditions | join(' and ') ~ ')' if conditions else 'true') -%}
  {%- endfor -%}
  {{ return(result.sql) }}
{% endmacro %}

{#
  ranged_table: a table rebuilt by every run, one statement per user range of the plan (as a full
  build of ranged_incremental).
#}
{% materialization ranged_table, adapter='duckdb' %}
  {%- set plan = run_plan() -%}
  {%- set existing = load_cached_relation(this) -%}
  {%- set target = this.incorporate(type='table') -%}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {%- do build_in_user_ranges(existing, target, plan.user_ranges) -%}
  {% do persist_docs(target, model) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do adapter.commit() %}
  {%- if existing is not none -%}
    {% do adapter.drop_relation(make_backup_relation(target, 'table')) %}
  {%- endif -%}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target]}) }}
{% endmaterialization %}

{#
  The model's SQL run once per user range into a new table, which then takes the target's place
  (the old table is renamed to the backup relation, dropped after the commit). Every row is written
  anew, so the checkpoint's vacuum would only rewrite what was just written: it is turned off.
#}
{% macro build_in_user_ranges(existing, target, ranges) %}
  {%- set intermediate = make_intermediate_relation(target) -%}
  {%- set backup = make_backup_relation(target, 'table') -%}
  {{ drop_relation_if_exists(load_cached_relation(intermediate)) }}
  {{ drop_relation_if_exists(load_cached_relation(backup)) }}
  {%- do run_query("set max_vacuum_tasks = 0") -%}
  {%- call statement('main') -%}
    {{ create_table_as(False, intermediate, sql_for_user_range(compiled_code, ranges[0])) }}
  {%- endcall -%}
  {%- for user_range in ranges[1:] -%}
    {%- call statement('range_' ~ loop.index) -%}
      insert into {{ intermediate }} by name ({{ sql_for_user_range(compiled_code, user_range) }})
    {%- endcall -%}
  {%- endfor -%}
  {%- if existing is not none -%}
    {%- do adapter.rename_relation(existing, backup) -%}
  {%- endif -%}
  {%- do adapter.rename_relation(intermediate, target) -%}
{% endmacro %}
