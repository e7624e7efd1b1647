{#-
  Grain: one row per feature group of user_features.features, in the vector's order. The layout is
  derived here, in SQL, from the data (encoders and their sizes, modalities, user attributes and
  their values) and the horizons; user_features renders its SELECT from these rows, training
  records them, and schema_hash (sha256 over every group's line) is what inference checks.
-#}
{%- set horizons = horizons() %}
{%- set attributes = user_attribute_columns(source('raw', 'users')) %}
{%- set users = ref('stg_raw__users') %}

with horizons as (
    {%- for h in horizons %}
    select {{ h }} as horizon_days{{ ' union all' if not loop.last }}
    {%- endfor %}
),

-- the modality an encoder describes: the one most of its items have (ties: the first name)
encoder_modalities as (
    select
        embeddings.encoder,
        items.modality,
        max(cardinality(embeddings.embedding)) as dim,
        row_number() over (partition by embeddings.encoder order by count(*) desc, items.modality) as modality_rank
    from {{ ref('stg_raw__item_embeddings') }} as embeddings
    inner join {{ ref('stg_raw__items') }} as items on items.item_id = embeddings.item_id
    group by embeddings.encoder, items.modality
),

encoders as (
    select encoder, modality, max(dim) over (partition by encoder) as dim
    from encoder_modalities
    where modality_rank = 1
),

modalities as (
    select distinct modality from {{ ref('stg_raw__items') }}
),

-- categorical attributes: the most common values (at most var max_category_values), the rest share one slot
attribute_values as (
    {%- for attribute in attributes %}
    select {{ sql_string(attribute) }} as attribute, cast({{ quote_name(attribute) }} as string) as value, count(*) as users
    from {{ users }}
    where {{ quote_name(attribute) }} is not null
    group by cast({{ quote_name(attribute) }} as string)
    {{ 'union all' if not loop.last }}
    {%- else %}
    select cast(null as string) as attribute, cast(null as string) as value, 0 as users
    where false
    {%- endfor %}
),

ranked_values as (
    select *, row_number() over (partition by attribute order by users desc, value) as value_rank
    from attribute_values
),

categoricals as (
    select
        attribute,
        to_json({{ sorted_list('value') }}) as detail,
        count(*) + max(case when value_count > {{ var('max_category_values') }} then 1 else 0 end) as dim
    from (select *, count(*) over (partition by attribute) as value_count from ranked_values) as counted
    where value_rank <= {{ var('max_category_values') }}
    group by attribute
),

groups as (
    select 1 as section, encoder as sort_name, horizon_days, encoder || '__mean_' || horizon_days || 'd' as group_name,
        'behaviour_mean' as kind, encoder, horizon_days as horizon, modality, '' as detail, dim
    from encoders cross join horizons
    union all
    select 2, encoder, null, encoder || '__onboarding_mean', 'onboarding_mean', encoder, null, modality, '', dim
    from encoders
    union all
    select 3, modality, horizon_days, modality || '__log_events_' || horizon_days || 'd', 'activity', null, horizon_days, modality, '', 1
    from modalities cross join horizons
    {%- if var('time_features') == 'sliding' %}
    union all
    -- calendar features in whole log2 steps of weeks: they change on a handful of days per user, not every day
    select 4, '', null, 'weeks_since_last_event_log2', 'recency', null, null, null, '', 1
    union all
    select 5, '', null, 'tenure_weeks_log2', 'tenure', null, null, null, '', 1
    {%- endif %}
    union all
    select 6, attribute, null, attribute, 'categorical', null, null, null, cast(detail as string), dim
    from categoricals
    union all
    -- presence flags: 1 when the group they name carries signal, 0 when it is zero-filled
    select 7, encoder, horizon_days, encoder || '__mean_' || horizon_days || 'd__present', 'presence', encoder, horizon_days,
        modality, encoder || '__mean_' || horizon_days || 'd', 1
    from encoders cross join horizons
    union all
    select 8, encoder, null, encoder || '__onboarding_mean__present', 'presence', encoder, null, modality,
        encoder || '__onboarding_mean', 1
    from encoders
    {%- if var('time_features') == 'sliding' %}
    union all
    select 9, '', null, 'weeks_since_last_event_log2__present', 'presence', null, null, null, 'weeks_since_last_event_log2', 1
    {%- endif %}
),

laid_out as (
    select
        row_number() over (order by section, sort_name, horizon_days) - 1 as group_index,
        group_name,
        kind,
        encoder,
        cast(horizon as integer) as horizon_days,
        modality,
        detail,
        coalesce(sum(dim) over (order by section, sort_name, horizon_days rows between unbounded preceding and 1 preceding), 0)
            as feature_offset,
        dim
    from groups
)

select
    group_index,
    group_name,
    kind,
    encoder,
    horizon_days,
    modality,
    detail,
    cast(feature_offset as integer) as feature_offset,
    cast(dim as integer) as dim,
    {{ sha256_of_lines(
        "concat_ws('|', group_name, kind, coalesce(encoder, ''), coalesce(cast(horizon_days as string), ''), "
        ~ "coalesce(modality, ''), detail, cast(feature_offset as string), cast(dim as string))", 'group_index') }} as schema_hash
from laid_out
