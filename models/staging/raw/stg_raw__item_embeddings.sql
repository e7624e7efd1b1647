select
    encoder,
    item_id,
    embedding
from {{ ref('base_raw__item_embeddings') }}
where quarantine_reason is null
