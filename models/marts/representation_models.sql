{#-
  The registry is the truth: its representation versions, read from their manifest.json files
  on every run, so a version registered while the warehouse was busy is listed by the next run.
-#}
{{ config(materialized='table', tags=['nrt', 'published']) }}
{%- set registry = env_var('USERREP_REGISTRY', env_var('USERREP_HOME', '.') ~ '/registry') -%}
{%- set manifests = "'" ~ (registry ~ '/v*/manifest.json') | replace("'", "''") ~ "'" -%}
{%- set found = execute and run_query('select count(*) from glob(' ~ manifests ~ ')').columns[0].values()[0] > 0 %}

with manifests as (
{%- if found %}
    select json as manifest, filename as manifest_path
    from read_json_objects({{ manifests }}, filename = true)
{%- else %}
    select cast(null as json) as manifest, cast(null as varchar) as manifest_path
    where false
{%- endif %}
),

versions as (
    -- the directory's name is the version, as the registry reads it; v*/ also matches other names
    select
        regexp_extract(manifest_path, '/(v[0-9]+)/manifest\.json$', 1) as model_version,
        manifest,
        regexp_replace(manifest_path, '/manifest\.json$', '') as path
    from manifests
    where regexp_matches(manifest_path, '/v[0-9]+/manifest\.json$')
)

select
    model_version,
    manifest ->> '$.kind' as kind,
    cast(manifest ->> '$.created_at' as timestamptz) as created_at,
    manifest ->> '$.parent_version' as parent_version,
    manifest ->> '$.feature_schema_hash' as feature_schema_hash,
    manifest ->> '$.feature_schema[*].group_name' as feature_groups,
    cast(manifest ->> '$.input_dim' as integer) as input_dim,
    cast(manifest ->> '$.latent_dim' as integer) as latent_dim,
    cast(manifest ->> '$.training_data.as_of' as date) as trained_as_of,
    cast(manifest ->> '$.training_data.rows' as bigint) as training_rows,
    manifest -> '$.metrics' as metrics,
    -- manifests written before spaces existed started their own
    coalesce(manifest ->> '$.space', model_version) as space,
    manifest ->> '$.aligned_to' as aligned_to,
    path
from versions
