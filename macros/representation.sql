{#
  A representation version: every user of user_features through one registry version's encoder.
  Each published user_representation_vN.sql is one line calling this macro. The table carries
  the model version and feature schema hash of every row, so versions can never mix.
  Incremental: only users whose features changed since this table was last written are
  re-encoded (delete+insert by user_id); the others keep their rows and updated_at.
#}
{% macro user_representation(version) %}
{{ config(materialized='incremental', unique_key='user_id', incremental_strategy='delete+insert', on_schema_change='fail', tags=['nrt'],
          post_hook=["{{ delete_users_without_features() }}"]) }}
{%- set function_name = 'userrep_encode_' ~ version -%}
{{ require_function(function_name) }}
{{ require_trained_feature_schema(version) }}
select
    features.user_id,
    {{ function_name }}(features.features, features.feature_schema_hash) as embedding,
    '{{ version }}' as model_version,
    features.feature_schema_hash,
    {{ dbt.current_timestamp() }} as computed_at,
    {{ dbt.current_timestamp() }} as updated_at
from {{ ref('user_features') }} as features
{%- if is_incremental() %}
where features.updated_at > (select max(updated_at) from {{ this }})
{%- endif %}
{% endmacro %}

{#
  A version encodes only the feature layout it was trained on. When the layout changed (a new
  encoder or attribute, other horizons), say so before encoding, with the groups that changed and
  what to do, rather than let the encoder refuse row by row.
#}
{% macro require_trained_feature_schema(version) %}
  {%- set versions = ref('representation_models') -%}
  {%- set layout = ref('feature_schema') -%}
  {%- if execute -%}
    {%- set rows = run_query("select version.feature_schema_hash, (select max(schema_hash) from " ~ layout ~ "), version.feature_groups"
        ~ " from " ~ versions ~ " as version where version.model_version = " ~ sql_string(version)).rows -%}
    {%- if rows and rows[0][0] != rows[0][1] -%}
      {%- set current = run_query("select group_name from " ~ layout ~ " order by group_index").columns[0].values() | list -%}
      {%- set trained = list_value(rows[0][2]) -%}
      {#- a manifest without groups names none added, as DuckDB's list_filter over NULL did -#}
      {%- set added = current | reject('in', trained) | list if rows[0][2] is not none else [] -%}
      {%- set removed = trained | reject('in', current) | list -%}
      {{ exceptions.raise_compiler_error(
          "user_representation_" ~ version ~ ": the features changed since " ~ version ~ " was trained (feature schema "
          ~ rows[0][0][:12] ~ " -> " ~ rows[0][1][:12] ~ "; groups added: " ~ (added | join(', ') or 'none')
          ~ "; removed: " ~ (removed | join(', ') or 'none') ~ (", the others differ in size or values" if not added and not removed else "")
          ~ "). Train a version on the current features (userrep train), publish it (userrep publish), and unpublish "
          ~ version ~ " (userrep unpublish " ~ version ~ "); or build with the data and vars " ~ version ~ " was trained on.") }}
    {%- endif -%}
  {%- endif -%}
{% endmacro %}

{# After a rebuild of user_features, the users it no longer has (removed from the users source) leave this table too. #}
{% macro delete_users_without_features() %}
  {%- if is_incremental() -%}
    {{ delete_rows(this, "user_id not in (select user_id from " ~ ref('user_features') ~ ")") }}
  {%- endif -%}
{% endmacro %}

{#
  Fail before building, with the reason, when the plugin did not register the function or the
  registry refused the version (tampered or missing file): even a run with no row to encode.
#}
{% macro require_function(function_name) %}
  {%- if execute -%}
    {%- if not function_registered(function_name) -%}
      {{ exceptions.raise_compiler_error(function_name ~ " is not registered: " ~ adapter.dispatch('missing_function_hint', 'userrep')()) }}
    {%- endif -%}
    {%- do run_query("select " ~ function_name | replace('userrep_', 'userrep_verify_', 1) ~ "()") -%}
  {%- endif -%}
{% endmacro %}

{% macro function_registered(function_name) %}{{ return(adapter.dispatch('function_registered', 'userrep')(function_name)) }}{% endmacro %}

{% macro duckdb__function_registered(function_name) %}
  {{ return(run_query("select count(*) from duckdb_functions() where function_name = " ~ sql_string(function_name)).columns[0].values()[0] > 0) }}
{% endmacro %}

{% macro spark__function_registered(function_name) %}
  {{ return(run_query("show user functions like " ~ sql_string(function_name)).rows | length > 0) }}
{% endmacro %}

{% macro duckdb__missing_function_hint() %}
  {{ return("the registry (USERREP_REGISTRY) has no such version, or profiles.yml lacks the python_udfs.userrep_udfs plugin") }}
{% endmacro %}

{#- dbt-spark's own session has none of the registry's functions: userrep.spark registers them first -#}
{% macro spark__missing_function_hint() %}
  {{ return("the registry (USERREP_REGISTRY) has no such version, or dbt was started without userrep's Spark runner: "
            ~ "run `userrep build --engine spark` (or userrep.spark.run_dbt), which registers the registry's functions on the session") }}
{% endmacro %}

{#
  Top-k cosine neighbours (embeddings are unit length, so the inner product is the cosine) for a
  cohort: the users who signed up in the last `cohort_days` days, at most `cohort_limit` of them.
  Pinned to one representation version.
#}
{% macro similar_users(version, k=10, cohort_days=7, cohort_limit=1000) %}
{{ config(materialized='table') }}
with representation as (
    select user_id, embedding from {{ ref('user_representation', v=version) }}
),

cohort as (
    select representation.*
    from representation
    inner join {{ ref('stg_raw__users') }} as users on users.user_id = representation.user_id
    where users.signup_ts >= {{ run_plan().as_of }} - interval {{ cohort_days | int }} day
    order by users.signup_ts desc, users.user_id
    limit {{ cohort_limit | int }}
),

scored as (
    -- a top-k aggregate keeps a heap per cohort user instead of sorting every pair
    select
        cohort.user_id,
        max_by(
            {{ struct_of([('neighbour_id', 'candidates.user_id'),
                          ('cosine_similarity', inner_product('cohort.embedding', 'candidates.embedding'))]) }},
            {{ inner_product('cohort.embedding', 'candidates.embedding') }},
            {{ k | int }}
        ) as neighbours
    from cohort
    inner join representation as candidates on candidates.user_id != cohort.user_id
    group by cohort.user_id
)

select
    user_id,
    neighbour.neighbour_id,
    neighbour_rank,
    neighbour.cosine_similarity,
    'v{{ version }}' as model_version
from scored,
    {{ ranked_elements('neighbours', 'neighbour', 'neighbour_rank') }}
{% endmacro %}

{#
  Scores of a downstream task model on one representation version, in SQL. The scoring function
  checks every row's model_version: a version of the space the model was trained in. Incremental
  like the representation: a refresh rescores the users it re-encoded.
#}
{% macro downstream_scores(task, model_version, representation_version) %}
{{ config(materialized='incremental', unique_key='user_id', incremental_strategy='delete+insert', on_schema_change='fail', tags=['nrt']) }}
{%- set function_name = 'userrep_score_' ~ task ~ '_' ~ model_version -%}
{{ require_function(function_name) }}
select
    representation.user_id,
    {{ function_name }}(representation.embedding, representation.model_version) as score,
    '{{ task }}' as task,
    '{{ model_version }}' as task_model_version,
    representation.model_version as representation_version,
    {{ dbt.current_timestamp() }} as computed_at
from {{ ref('user_representation', v=representation_version) }} as representation
{%- if is_incremental() %}
-- only this version's own rows count: after a move to another version of the space, every user is rescored
where representation.updated_at > coalesce(
    (select max(computed_at) from {{ this }} where representation_version = 'v{{ representation_version }}'),
    {{ timestamp_before_all() }})
{%- endif %}
{% endmacro %}
