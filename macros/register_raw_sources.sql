{#
  Point every `raw` source at its parquet data before the run: either `<name>.parquet` or a
  directory `<name>/` of parquet files (hive partitions allowed). A source marked
  `meta: {optional: true}` that has no files becomes an empty view with its declared columns.
  Views, not copies: staging reads the files where they lie.
#}
{% macro register_raw_sources() %}
  {%- if execute -%}
    {%- set raw_dir = env_var('USERREP_RAW_DIR', env_var('USERREP_HOME', '.') ~ '/raw') -%}
    {%- do run_query("create schema if not exists raw") -%}
    {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
      {%- do run_query(raw_source_view_sql(raw_dir, node)) -%}
      {%- if node.meta.get('track_files') -%}
        {#- the file list alone, from a glob: finding new files must not scan the data -#}
        {%- do run_query("create or replace view raw." ~ node.identifier ~ "__files as select file as source_file from glob('"
              ~ raw_dir ~ "/" ~ node.name ~ ".parquet') union all select file from glob('" ~ raw_dir ~ "/" ~ node.name ~ "/**/*.parquet')") -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
{% endmacro %}

{% macro raw_source_view_sql(raw_dir, node) %}
  {%- set single_file = raw_dir ~ '/' ~ node.name ~ '.parquet' -%}
  {%- set directory = raw_dir ~ '/' ~ node.name ~ '/**/*.parquet' -%}
  {%- set with_filename = 'true' if node.meta.get('track_files') else 'false' -%}
  {%- if parquet_files_exist(single_file) -%}
    {%- set body = "select * from read_parquet('" ~ single_file ~ "', filename = " ~ with_filename ~ ")" -%}
  {%- elif parquet_files_exist(directory) -%}
    {%- set body = "select * from read_parquet('" ~ directory ~ "', hive_partitioning = true, union_by_name = true, filename = " ~ with_filename ~ ")" -%}
  {%- elif node.meta.get('optional') -%}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() -%}
      {%- do columns.append("cast(null as " ~ column.data_type ~ ") as " ~ column.name) -%}
    {%- endfor -%}
    {%- if node.meta.get('track_files') -%}{%- do columns.append("cast(null as varchar) as filename") -%}{%- endif -%}
    {%- set body = "select " ~ columns | join(', ') ~ " where false" -%}
  {%- else -%}
    {{ exceptions.raise_compiler_error(
        "raw source '" ~ node.name ~ "' not found: expected " ~ single_file ~ " or parquet files under "
        ~ raw_dir ~ "/" ~ node.name ~ "/ (set USERREP_RAW_DIR to the raw data directory)") }}
  {%- endif -%}
  create or replace view raw.{{ node.identifier }} as {{ body }}
{% endmacro %}

{% macro parquet_files_exist(pattern) %}
  {%- set result = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
  {{ return(result.columns[0].values()[0] > 0) }}
{% endmacro %}
