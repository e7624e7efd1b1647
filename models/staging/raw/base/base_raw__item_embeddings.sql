{%- set allowed_encoders = var('encoders') %}
with source as (
    select * from {{ source('raw', 'item_embeddings') }}
),

typed as (
    select
        cast(encoder as string) as encoder,
        cast(item_id as string) as item_id,
        try_cast(embedding as {{ sql_type('float[]') }}) as embedding,
        embedding is not null as has_embedding
    from source
),

items as (
    select item_id from {{ ref('stg_raw__items') }}
),

checked as (
    select
        typed.*,
        case
            when typed.encoder is null then 'null_encoder'
            when typed.item_id is null then 'null_item_id'
            when not typed.has_embedding then 'null_embedding'
            when typed.embedding is null then 'unparseable_embedding'
            when not {{ in_list('typed.encoder', allowed_encoders) }} then 'unknown_encoder'
            when items.item_id is null then 'unknown_item'
            -- an encoder's length is the one most of its rows have
            when cardinality(typed.embedding) != mode(cardinality(typed.embedding)) over (partition by typed.encoder)
                then 'wrong_embedding_length'
            when {{ has_non_finite('typed.embedding') }} then 'non_finite_embedding'
        end as invalid_reason
    from typed
    left join items on items.item_id = typed.item_id
)

select
    encoder,
    item_id,
    embedding,
    coalesce(
        invalid_reason,
        case when row_number() over (
            partition by encoder, item_id order by invalid_reason nulls first, embedding
        ) > 1 then 'duplicate_embedding' end
    ) as quarantine_reason
from checked
