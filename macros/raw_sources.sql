{#
  Before every run: each `raw` source becomes a view over its parquet files in the raw directory,
  either `<name>.parquet` or a directory `<name>/` of parquet files (hive partitions allowed).
  Views, not copies: staging reads the files where they lie. For the events, every file found is
  listed in raw.event_files with its size and modification time (the fingerprint the run plan
  compares), and the events view reads only the files that can be parquet. The files behind the
  other sources are listed the same way in raw.source_files.
#}
{% macro register_raw_sources() %}
  {%- if execute -%}
    {%- do validate_vars() -%}
    {%- do adapter.dispatch('register_raw_sources', 'userrep')(raw_dir()) -%}
  {%- endif -%}
{% endmacro %}

{% macro duckdb__register_raw_sources(raw) %}
  {%- do run_query("create schema if not exists raw") -%}
  {%- set listings = [] -%}
  {%- for node in graph.sources.values() if node.source_name == 'raw' and node.name not in raw_listing_sources() -%}
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
      {%- do listings.append(duckdb__source_files_sql(node.name, single_file)) -%}
    {%- elif run_query("select count(*) from glob(" ~ sql_string(directory ~ '/**/*.parquet') ~ ")").columns[0].values()[0] > 0 -%}
      {%- set body = "select * from read_parquet(" ~ sql_string(directory ~ '/**/*.parquet')
            ~ ", hive_partitioning = true, union_by_name = true)" -%}
      {%- do listings.append(duckdb__source_files_sql(node.name, directory ~ '/**/*.parquet')) -%}
    {%- elif node.meta.get('optional') -%}
      {%- set body = empty_source_sql(node) -%}
    {%- else -%}
      {{ exceptions.raise_compiler_error(
          "raw source '" ~ node.name ~ "' not found: expected " ~ single_file ~ " or parquet files under "
          ~ directory ~ "/ (set USERREP_RAW_DIR or USERREP_HOME)") }}
    {%- endif -%}
    {%- do run_query("create or replace view raw." ~ node.identifier ~ " as " ~ body) -%}
  {%- endfor -%}
  {%- do run_query("create or replace view raw.source_files as " ~ (listings | join(' union all ') or empty_source_files_sql())) -%}
{% endmacro %}

{# The raw sources that are listings of files, written by this hook, not parquet to read. #}
{% macro raw_listing_sources() %}
  {{ return(['event_files', 'source_files']) }}
{% endmacro %}

{% macro duckdb__source_files_sql(source_name, pattern) -%}
  select {{ sql_string(source_name) }} as source_name, filename as file_path, size as size_bytes,
      cast(last_modified as timestamp) as modified_at
  from read_blob({{ sql_string(pattern) }})
{%- endmacro %}

{% macro empty_source_files_sql() -%}
  select cast(null as string) as source_name, cast(null as string) as file_path, cast(null as bigint) as size_bytes,
      cast(null as timestamp) as modified_at
  where false
{%- endmacro %}

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
    {%- do columns.append("cast(null as " ~ sql_type(column.data_type) ~ ") as " ~ column.name) -%}
  {%- endfor -%}
  {%- if node.meta.get('track_files') -%}{%- do columns.append("cast(null as string) as filename") -%}{%- endif -%}
  {{ return("select " ~ columns | join(', ') ~ " where false") }}
{% endmacro %}

{#
  Spark SQL cannot list files, so userrep.spark lists the raw directory through Hadoop's
  FileSystem into raw.files (file_path, size_bytes, modified_at) before dbt starts, and names that
  listing in a session setting; a listing this run did not write (a plain `dbt --target spark`, or
  one left by an earlier run) is refused. The sources are then found as on DuckDB.
#}
{% macro spark__register_raw_sources(raw) %}
  {%- do require_spark_file_listing() -%}
  {%- do run_query("create schema if not exists raw") -%}
  {%- set listings = [] -%}
  {%- for node in graph.sources.values() if node.source_name == 'raw' and node.name not in raw_listing_sources() -%}
    {%- set single_file = raw ~ '/' ~ node.name ~ '.parquet' -%}
    {%- set directory = raw ~ '/' ~ node.name ~ '/' -%}
    {%- set in_directory = "substr(file_path, 1, " ~ directory | length ~ ") = " ~ sql_string(directory) -%}
    {%- set has_single_file = run_query("select count(*) from raw.files where file_path = " ~ sql_string(single_file)).columns[0].values()[0] > 0 -%}
    {%- if node.meta.get('track_files') -%}
      {%- do run_query("create or replace view raw.event_files as select file_path, substr(file_path, " ~ (raw | length + 2)
            ~ ") as source_file, size_bytes, modified_at from raw.files where "
            ~ ("file_path = " ~ sql_string(single_file) if has_single_file else in_directory)) -%}
      {%- set files = run_query("select file_path from raw.event_files where (" ~ event_file_problem() ~ ") is null order by 1").columns[0].values() | list -%}
      {%- set body = spark__parquet_files_sql(files, node, with_filename=true) -%}
    {%- elif has_single_file -%}
      {%- set body = spark__parquet_files_sql([single_file], node, with_filename=false) -%}
      {%- do listings.append(spark__source_files_sql(node.name, "file_path = " ~ sql_string(single_file))) -%}
    {%- else -%}
      {%- set files = run_query("select file_path from raw.files where " ~ in_directory ~ " and file_path like '%.parquet' order by 1").columns[0].values() | list -%}
      {%- if files -%}
        {%- set body = spark__parquet_files_sql(files, node, with_filename=false) -%}
        {%- do listings.append(spark__source_files_sql(node.name, in_directory ~ " and file_path like '%.parquet'")) -%}
      {%- elif node.meta.get('optional') -%}
        {%- set body = empty_source_sql(node) -%}
      {%- else -%}
        {{ exceptions.raise_compiler_error(
            "raw source '" ~ node.name ~ "' not found: expected " ~ single_file ~ " or parquet files under "
            ~ directory ~ " (set USERREP_RAW_DIR or USERREP_HOME)") }}
      {%- endif -%}
    {%- endif -%}
    {%- do run_query("create or replace view raw." ~ node.identifier ~ " as " ~ body) -%}
  {%- endfor -%}
  {%- do run_query("create or replace view raw.source_files as " ~ (listings | join(' union all ') or empty_source_files_sql())) -%}
{% endmacro %}

{% macro spark__source_files_sql(source_name, condition) -%}
  select {{ sql_string(source_name) }} as source_name, file_path, size_bytes, modified_at from raw.files where {{ condition }}
{%- endmacro %}

{% macro require_spark_file_listing() %}
  {%- set expected = run_query("set userrep.raw_files_listing").columns[1].values()[0] -%}
  {%- set listing = adapter.get_relation(database=none, schema='raw', identifier='files') -%}
  {%- set found = run_query("select max(listing) from raw.files").columns[0].values()[0] if listing is not none else none -%}
  {%- if found is none or found != expected -%}
    {{ exceptions.raise_compiler_error(
        "the raw files were not listed for this run: run the Spark target through `userrep build --engine spark` "
        ~ "(or userrep.spark.run_dbt), which lists the raw directory and registers the registry's functions first") }}
  {%- endif -%}
{% endmacro %}

{#
  Parquet files read one by one and stacked by column name, each file's columns in place and a
  typed NULL for those it lacks (DuckDB's union_by_name); `filename` is the path as listed. A
  directory read would skip files silently (Spark reads only the deepest partition level when
  files sit at several) and cannot leave out the files the listing marks unreadable.
#}
{% macro spark__parquet_files_sql(files, node, with_filename) %}
  {%- if not files -%}
    {{ return(empty_source_sql(node)) }}
  {%- endif -%}
  {%- set columns = {} -%}
  {%- set order = [] -%}
  {%- set per_file = [] -%}
  {%- for file in files -%}
    {%- set described = run_query("describe query select * from " ~ spark_parquet_path(file)) -%}
    {%- set names = [] -%}
    {%- for row in described.rows -%}
      {%- do names.append(row[0] | lower) -%}
      {%- if row[0] | lower not in columns -%}
        {%- do columns.update({row[0] | lower: row[1]}) -%}
        {%- do order.append(row[0]) -%}
      {%- endif -%}
    {%- endfor -%}
    {%- do per_file.append(names) -%}
  {%- endfor -%}
  {%- set selects = [] -%}
  {%- for file in files -%}
    {%- set present = per_file[loop.index0] -%}
    {%- set items = [] -%}
    {%- for name in order -%}
      {%- do items.append(spark__quote_name(name) if name | lower in present
                          else "cast(null as " ~ columns[name | lower] ~ ") as " ~ spark__quote_name(name)) -%}
    {%- endfor -%}
    {%- if with_filename -%}{%- do items.append(sql_string(file) ~ " as filename") -%}{%- endif -%}
    {%- do selects.append("select " ~ items | join(", ") ~ " from " ~ spark_parquet_path(file)) -%}
  {%- endfor -%}
  {{ return(selects | join("\nunion all\n")) }}
{% endmacro %}

{# A file as a Spark relation: parquet.`path`, its glob characters escaped (Spark globs such paths). #}
{% macro spark_parquet_path(path) %}
  {%- set escaped = namespace(text=path | replace('\\', '\\\\')) -%}
  {%- for character in ['{', '}', '[', ']', '*', '?'] -%}
    {%- set escaped.text = escaped.text | replace(character, '\\' ~ character) -%}
  {%- endfor -%}
  {{ return('parquet.`' ~ escaped.text | replace('`', '``') ~ '`') }}
{% endmacro %}
