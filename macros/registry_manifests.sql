{#
  Every registry version's manifest.json as (manifest, manifest_path). DuckDB reads the files;
  Spark SQL cannot list a directory, so userrep.spark writes raw.registry_manifests before dbt starts.
#}
{% macro registry_manifests_sql(registry) %}{{ return(adapter.dispatch('registry_manifests_sql', 'userrep')(registry)) }}{% endmacro %}

{% macro duckdb__registry_manifests_sql(registry) %}
  {%- set manifests = sql_string(registry ~ '/v*/manifest.json') -%}
  {%- if execute and run_query('select count(*) from glob(' ~ manifests ~ ')').columns[0].values()[0] > 0 -%}
    {{ return('select json as manifest, filename as manifest_path from read_json_objects(' ~ manifests ~ ', filename = true)') }}
  {%- endif -%}
  {{ return('select cast(null as json) as manifest, cast(null as string) as manifest_path where false') }}
{% endmacro %}

{% macro spark__registry_manifests_sql(registry) %}
  {{ return('select manifest, manifest_path from raw.registry_manifests') }}
{% endmacro %}
