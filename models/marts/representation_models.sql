{#-
  The registry is the truth: its representation versions, read from their manifest.json files
  on every run, so a version registered while the warehouse was busy is listed by the next run.
-#}
{{ config(materialized='table', tags=['nrt', 'published']) }}
{%- set version_pattern = "'/(v[0-9]+)/manifest[.]json$'" %}

with manifests as (
    {{ registry_manifests_sql(env_var('USERREP_REGISTRY', env_var('USERREP_HOME', '.') ~ '/registry')) }}
),

versions as (
    -- the directory's name is the version, as the registry reads it; v*/ also matches other names
    select
        regexp_extract(manifest_path, {{ version_pattern }}, 1) as model_version,
        manifest,
        regexp_replace(manifest_path, '/manifest[.]json$', '') as path
    from manifests
    where regexp_extract(manifest_path, {{ version_pattern }}, 1) != ''
)

select
    model_version,
    {{ json_text('manifest', '$.kind') }} as kind,
    cast({{ json_text('manifest', '$.created_at') }} as {{ sql_type('timestamptz') }}) as created_at,
    {{ json_text('manifest', '$.parent_version') }} as parent_version,
    {{ json_text('manifest', '$.feature_schema_hash') }} as feature_schema_hash,
    {{ json_text_of_each('manifest', '$.feature_schema', 'group_name') }} as feature_groups,
    cast({{ json_text('manifest', '$.input_dim') }} as integer) as input_dim,
    cast({{ json_text('manifest', '$.latent_dim') }} as integer) as latent_dim,
    cast({{ json_text('manifest', '$.training_data.as_of') }} as date) as trained_as_of,
    cast({{ json_text('manifest', '$.training_data.rows') }} as bigint) as training_rows,
    {{ json_value('manifest', '$.metrics') }} as metrics,
    -- manifests written before spaces existed started their own
    coalesce({{ json_text('manifest', '$.space') }}, model_version) as space,
    {{ json_text('manifest', '$.aligned_to') }} as aligned_to,
    path
from versions
