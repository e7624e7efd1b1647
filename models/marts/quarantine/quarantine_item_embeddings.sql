select
    encoder,
    item_id,
    embedding,
    quarantine_reason
from {{ ref('base_raw__item_embeddings') }}
where quarantine_reason is not null
