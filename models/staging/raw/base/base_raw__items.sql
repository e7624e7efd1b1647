with source as (
    select * from {{ source('raw', 'items') }}
),

typed as (
    select
        cast(item_id as string) as item_id,
        cast(modality as string) as modality
    from source
)

select
    *,
    case
        when item_id is null then 'null_item_id'
        when modality is null then 'null_modality'
        when row_number() over (partition by item_id order by modality) > 1 then 'duplicate_item'
    end as quarantine_reason
from typed
