{%- set allowed_encoders = var('encoders', none) %}
with source as (
    select * from {{ source('raw', 'item_embeddings') }}
),

typed as (
    select
        cast(encoder as varchar) as encoder,
        cast(item_id as varchar) as item_id,
        cast(embedding as float[]) as embedding
    from source
),

checked as (
    select
        typed.*,
        case
            when typed.encoder is null then 'null_encoder'
            when typed.item_id is null then 'null_item_id'
            when typed.embedding is null then 'null_embedding'
            {%- if allowed_encoders %}
            when typed.encoder not in ({% for e in allowed_encoders %}'{{ e }}'{{ ', ' if not loop.last }}{% endfor %}) then 'unknown_encoder'
            {%- endif %}
            when items.item_id is null then 'unknown_item'
            -- an encoder's length is the one most of its rows have
            when len(typed.embedding) != mode(len(typed.embedding)) over (partition by typed.encoder) then 'wrong_embedding_length'
            when list_bool_or(list_transform(typed.embedding, lambda x: x is null or not isfinite(x))) then 'non_finite_embedding'
        end as invalid_reason
    from typed
    left join {{ ref('stg_raw__items') }} as items on items.item_id = typed.item_id
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
