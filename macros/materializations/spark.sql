{#
  The materializations on Spark, where parquet tables have no DELETE and no UPDATE: a table
  changes by being written anew beside the old one and swapped in (spark_swap_in). The kept rows
  are copied as they are, so they keep every column, updated_at included.

  ranged_incremental: a full build is one statement (Spark spills to disk, so it needs no user
  ranges); an incremental run writes the model's rows to <table>__dbt_new, then the table anew as
  those rows plus the stored rows of every other key, without the days before the window when
  `prune_before_window` is set, and with the plan's as_of in `as_of_column` when that is set.
  `skip_unchanged` leaves out the model's rows that equal a stored row on the key and its columns.
#}
{% materialization ranged_incremental, adapter='spark' %}
  {%- set plan = run_plan() -%}
  {%- set unique_key = config.require('unique_key') -%}
  {%- set keys = [unique_key] if unique_key is string else unique_key -%}
  {%- set prune_column = config.get('prune_before_window') -%}
  {%- set target = this.incorporate(type='table') -%}
  {{ run_hooks(pre_hooks) }}
  {%- if not plan.incremental -%}
    {%- call statement('main') -%}
      {{ spark_swap_in(target, sql_for_user_range(compiled_code, [none, none])) }}
    {%- endcall -%}
  {%- else -%}
    {%- set new_rows = spark_work_relation(target, 'new') -%}
    {%- do adapter.drop_relation(new_rows) -%}
    {%- do run_query(spark_create_table(new_rows, sql_for_user_range(compiled_code, [none, none]))) -%}
    {%- if config.get('skip_unchanged') -%}
      {%- set candidates = new_rows -%}
      {%- set new_rows = spark_work_relation(target, 'changed') -%}
      {%- do adapter.drop_relation(new_rows) -%}
      {%- do run_query(spark_create_table(new_rows, "select candidate.* from " ~ candidates ~ " as candidate left anti join " ~ target
          ~ " as stored on " ~ spark_keys_equal(keys + config.get('skip_unchanged'), 'candidate', 'stored'), contract=false)) -%}
      {%- do adapter.drop_relation(candidates) -%}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='quoted') | list -%}
    {%- set as_of_column = config.get('as_of_column') -%}
    {%- set stored = [] -%}
    {%- for column in columns -%}
      {%- do stored.append(plan.as_of ~ ' as ' ~ column if as_of_column and column.strip('`') == as_of_column else 'stored.' ~ column) -%}
    {%- endfor -%}
    {%- call statement('main') -%}
      {{ spark_swap_in(target,
          "select " ~ columns | join(', ') ~ " from " ~ new_rows ~ "\nunion all\nselect " ~ stored | join(', ') ~ " from " ~ target ~ " as stored"
          ~ " left anti join " ~ new_rows ~ " as replaced on " ~ spark_keys_equal(keys, 'stored', 'replaced')
          ~ (" where stored." ~ prune_column ~ " >= " ~ plan.window_start if prune_column else "")) }}
    {%- endcall -%}
    {%- do adapter.drop_relation(new_rows) -%}
  {%- endif -%}
  {% do persist_docs(target, model) %}
  {{ run_hooks(post_hooks) }}
  {{ return({'relations': [target]}) }}
{% endmaterialization %}

{# ranged_table: the table written anew by every run, in one statement. #}
{% materialization ranged_table, adapter='spark' %}
  {%- set target = this.incorporate(type='table') -%}
  {{ run_hooks(pre_hooks) }}
  {%- call statement('main') -%}
    {{ spark_swap_in(target, sql_for_user_range(compiled_code, [none, none])) }}
  {%- endcall -%}
  {% do persist_docs(target, model) %}
  {{ run_hooks(post_hooks) }}
  {{ return({'relations': [target]}) }}
{% endmaterialization %}

{#
  dbt's incremental materialization for this project's two strategies, in place of dbt-spark's,
  which has no delete+insert: `append` inserts the model's rows; `delete+insert` replaces the rows
  of the keys the model returns (as ranged_incremental does) and keeps the others.
#}
{% materialization incremental, adapter='spark' %}
  {%- set strategy = config.get('incremental_strategy') or 'append' -%}
  {%- if strategy not in ['append', 'delete+insert'] -%}
    {{ exceptions.raise_compiler_error("incremental_strategy " ~ strategy ~ " is not supported here on Spark: use append or delete+insert") }}
  {%- endif -%}
  {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}
  {%- set target = this.incorporate(type='table') -%}
  {%- set existing = load_cached_relation(this) -%}
  {{ run_hooks(pre_hooks) }}
  {%- if existing is none or existing.is_view or should_full_refresh() -%}
    {%- call statement('main') -%}
      {{ spark_swap_in(target, compiled_code) }}
    {%- endcall -%}
  {%- else -%}
    {%- set new_rows = spark_work_relation(target, 'new') -%}
    {%- do adapter.drop_relation(new_rows) -%}
    {%- do run_query(spark_create_table(new_rows, compiled_code)) -%}
    {%- do process_schema_changes(on_schema_change, new_rows, existing) -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='quoted') | join(', ') -%}
    {%- if strategy == 'append' -%}
      {%- call statement('main') -%}
        insert into table {{ target }} select {{ columns }} from {{ new_rows }}
      {%- endcall -%}
    {%- else -%}
      {%- set unique_key = config.require('unique_key') -%}
      {%- set keys = [unique_key] if unique_key is string else unique_key -%}
      {%- call statement('main') -%}
        {{ spark_swap_in(target,
            "select " ~ columns ~ " from " ~ new_rows ~ "\nunion all\nselect " ~ columns ~ " from " ~ target ~ " as stored"
            ~ " left anti join " ~ new_rows ~ " as replaced on " ~ spark_keys_equal(keys, 'stored', 'replaced')) }}
      {%- endcall -%}
    {%- endif -%}
    {%- do adapter.drop_relation(new_rows) -%}
  {%- endif -%}
  {% do persist_docs(target, model) %}
  {{ run_hooks(post_hooks) }}
  {{ return({'relations': [target]}) }}
{% endmaterialization %}

{# A table beside `relation` for one step of writing it (<name>__dbt_<purpose>). #}
{% macro spark_work_relation(relation, purpose) %}
  {{ return(relation.incorporate(path={'identifier': relation.identifier ~ '__dbt_' ~ purpose}, type='table')) }}
{% endmacro %}

{% macro spark_keys_equal(keys, left, right) -%}
  {%- set conditions = [] -%}
  {%- for key in keys -%}{%- do conditions.append(left ~ '.' ~ key ~ ' = ' ~ right ~ '.' ~ key) -%}{%- endfor -%}
  {{ conditions | join(' and ') }}
{%- endmacro %}

{#
  Writes `sql` (which may read `relation`) as a new parquet table and swaps it in for `relation`:
  the old table is renamed to <name>__dbt_backup and dropped once the new one has its name, so a
  run stopped in between leaves both tables, never neither. Runs every step but the last, the
  drop, which it returns (the caller's `main` statement). With `contract`, the model's enforced
  contract is checked on `sql` first.
#}
{% macro spark_swap_in(relation, sql, contract=true) %}
  {%- set written = spark_work_relation(relation, 'tmp') -%}
  {%- set backup = spark_work_relation(relation, 'backup') -%}
  {%- do adapter.drop_relation(written) -%}
  {%- do adapter.drop_relation(backup) -%}
  {%- do run_query(spark_create_table(written, sql, contract)) -%}
  {%- set existing = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
  {%- if existing is not none -%}
    {%- set backup = backup.incorporate(type=existing.type) -%}
    {%- do adapter.rename_relation(existing, backup) -%}
  {%- endif -%}
  {%- do adapter.rename_relation(written, relation) -%}
  {{ return("drop " ~ backup.type ~ " if exists " ~ backup) }}
{% endmacro %}

{# A parquet table of `sql`'s rows, checked against the model's contract when it is enforced and `contract` is set. #}
{% macro spark_create_table(relation, sql, contract=true) %}
  {%- set enforced = contract and config.get('contract') and config.get('contract').enforced -%}
  create table {{ relation }} using parquet
  {%- if enforced %}
  {{ get_assert_columns_equivalent(sql) }}
  {%- set sql = get_select_subquery(sql) %}
  {%- endif %}
  as
  {{ sql }}
{% endmacro %}

{#
  Spark's form of a DELETE on a parquet table: the table written anew without the rows matching
  `condition`. Executes itself and returns no SQL (for use as a hook).
#}
{% macro spark_delete_rows(relation, condition) %}
  {%- do run_query(spark_swap_in(relation, "select * from " ~ relation ~ " where not coalesce(" ~ condition ~ ", false)", contract=false)) -%}
  {{ return('') }}
{% endmacro %}
