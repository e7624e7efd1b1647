{#
  Before every run: each `raw` source becomes a view over its parquet files in the raw directory,
  either `<name>.parquet` or a directory `<name>/` of parquet files (hive partitions allowed).
  Views, not copies: staging reads the files where they lie. For the events, every file found is
  listed in raw.event_files with its size and modification time (the fingerprint the run plan
  compares), and the events view reads only the files that can be parquet.
#}
{% macro register_raw_sources() %}
  {%- if execute -%}
    {%- do validate_vars() -%}
    {%- do adapter.dispatch('register_raw_sources', 'userrep')(raw_dir()) -%}
  {%- endif -%}
{% endmacro %}

{% macro duckdb__register_raw_sources(raw) %}
  {%- do run_query("create schema if not exists raw") -%}
  {%- for node in graph.sources.values() if node.source_name == 'raw' and node.name != 'event_files' -%}
    {%- set single_file = raw ~ '/' ~ node.name ~ '.parquet' -%}
    {%- set directory = raw ~ '/' ~ node.name -%}
    {%- set has_single_file = run_query("select count(*) from glob(" ~ sql_string(single_file) ~ ")").columns[0].values()[0] > 0 -%}
    {%- if node.meta.get('track_files') -%}
      {#- every file, parquet or not: a file that cannot be read is listed, never skipped silently -#}
      {%- set pattern = single_file if has_single_file else directory ~ '/**' -%}
      {%- do run_query("create or replace view raw.event_files as select filename as file_path, "
            ~ "substr(filename, " ~ (raw | length + 2) ~ ") as source_file, size as size_bytes, "
            ~ "cast(last_modified as timestamp) as modified_at from read_blob(" ~ sql_string(pattern) ~ ")") -%}
      {%- set files = run_query("select file_path from raw.event_files where (" ~ event_file_problem() ~ ") is null order by 1").columns[0].values() | list -%}
      {%- set body = read_parquet_files_sql(files, node, hive_partitioning=not has_single_file) -%}
    {%- elif has_single_file -%}
      {%- set body = "select * from read_parquet(" ~ sql_string(single_file) ~ ")" -%}
    {%- elif run_query("select count(*) from glob(" ~ sql_string(directory ~ '/**/*.parquet') ~ ")").columns[0].values()[0] > 0 -%}
      {%- set body = "select * from read_parquet(" ~ sql_string(directory ~ '/**/*.parquet')
            ~ ", hive_partitioning = true, union_by_name = true)" -%}
    {%- elif node.meta.get('optional') -%}
      {%- set body = empty_source_sql(node) -%}
    {%- else -%}
      {{ exceptions.raise_compiler_error(
          "raw source '" ~ node.name ~ "' not found: expected " ~ single_file ~ " or parquet files under "
          ~ directory ~ "/ (set USERREP_RAW_DIR or USERREP_HOME)") }}
    {%- endif -%}
    {%- do run_query("create or replace view raw." ~ node.identifier ~ " as " ~ body) -%}
  {%- endfor -%}
{% endmacro %}

{#
  Why an events file cannot be read as events, or null: the events view reads only the files
  without a problem, and quarantine_event_files lists the others with this reason.
#}
{% macro event_file_problem() -%}
  case
      when lower(source_file) not like '%.parquet' then 'not_parquet'
      when size_bytes < 12 then 'empty_file'
  end
{%- endmacro %}

{#
  Events from an explicit list of files (a glob would also read a zero-byte file and fail). An empty
  list gives an empty view with the declared columns, so a world with no events still builds.
#}
{% macro read_parquet_files_sql(files, node, hive_partitioning) %}
  {%- if not files -%}
    {{ return(empty_source_sql(node)) }}
  {%- endif -%}
  {%- set literals = [] -%}
  {%- for file in files -%}{%- do literals.append(sql_string(file)) -%}{%- endfor -%}
  {{ return("select * from read_parquet([" ~ literals | join(', ') ~ "], filename = true, union_by_name = true"
            ~ (", hive_partitioning = true" if hive_partitioning else "") ~ ")") }}
{% endmacro %}

{% macro empty_source_sql(node) %}
  {%- set columns = [] -%}
  {%- for column in node.columns.values() -%}
    {%- do columns.append("cast(null as " ~ column.data_type ~ ") as " ~ column.name) -%}
  {%- endfor -%}
  {%- if node.meta.get('track_files') -%}{%- do columns.append("cast(null as varchar) as filename") -%}{%- endif -%}
  {{ return("select " ~ columns | join(', ') ~ " where false") }}
{% endmacro %}
