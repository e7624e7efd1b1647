select
    item_id,
    modality
from {{ ref('base_raw__items') }}
where quarantine_reason is null
