{#
  The rows of user_features for one user range (see user_ranges.sql): every input is filtered to
  the range, so a ranged full build holds one range's lists in memory at a time.
#}
{% macro user_features_sql(user_range='true') %}
{%- set layout = feature_layout(ref('stg_raw__item_embeddings'), ref('stg_raw__items'), ref('stg_raw__users')) %}
{%- set encoders = encoder_dims(ref('stg_raw__item_embeddings')) | map(attribute='encoder') | list %}
{%- set modality_names = modalities(ref('stg_raw__items')) %}
{%- set encoder_alias = {} %}{% for e in encoders %}{% do encoder_alias.update({e: 'encoder_' ~ loop.index}) %}{% endfor %}
{%- set modality_alias = {} %}{% for m in modality_names %}{% do modality_alias.update({m: 'modality_' ~ loop.index}) %}{% endfor %}
with users as (
    select * from {{ ref('stg_raw__users') }}
    where {{ user_range }}
    {%- if is_incremental() %}
        and user_id in (select user_id from {{ ref('int_users_refreshed') }})
    {%- endif %}
),

-- each view is read once: the per-encoder and per-modality joins below would otherwise re-run it
horizon_means as materialized (
    select * from {{ ref('int_user_encoder_horizons_averaged') }} where {{ user_range }}
),

onboarding_means as materialized (
    select * from {{ ref('int_user_onboarding_averaged') }} where {{ user_range }}
),

modality_activity as materialized (
    select * from {{ ref('int_user_modality_activity_summarized') }} where {{ user_range }}
),

schema as (
    select any_value(schema_hash) as schema_hash from {{ ref('feature_schema') }}
),

computed as (
select
    users.user_id,
    {%- set parts = [] %}
    {%- for group in layout %}{% do parts.append(feature_group_sql(group, encoder_alias, modality_alias)) %}{% endfor %}
    {{ concat_lists(parts) }} as features,
    schema.schema_hash as feature_schema_hash,
    {{ as_of() }} as as_of,
    {{ dbt.current_timestamp() }} as updated_at
from users
cross join schema
left join (
    select * from {{ ref('int_users_last_active') }} where {{ user_range }}
) as activity on activity.user_id = users.user_id
{%- for e in encoders %}
left join horizon_means as {{ encoder_alias[e] }}
    on {{ encoder_alias[e] }}.user_id = users.user_id and {{ encoder_alias[e] }}.encoder = '{{ e }}'
left join onboarding_means as {{ encoder_alias[e] }}_onboarding
    on {{ encoder_alias[e] }}_onboarding.user_id = users.user_id and {{ encoder_alias[e] }}_onboarding.encoder = '{{ e }}'
{%- endfor %}
{%- for m in modality_names %}
left join modality_activity as {{ modality_alias[m] }}
    on {{ modality_alias[m] }}.user_id = users.user_id and {{ modality_alias[m] }}.modality = '{{ m }}'
{%- endfor %}
),

hashed as (
    select
        user_id,
        features,
        hash(features) as features_hash,
        feature_schema_hash,
        as_of,
        updated_at
    from computed
)

select hashed.*
from hashed
{%- if is_incremental() %}
-- the change check compares 64-bit hashes: reading every stored vector would cost more than the refresh
where not exists (
    select 1 from {{ this }} as previous
    where previous.user_id = hashed.user_id
        and previous.features_hash = hashed.features_hash
        and previous.feature_schema_hash = hashed.feature_schema_hash
        and previous.as_of = hashed.as_of
)
{%- endif %}
{% endmacro %}
