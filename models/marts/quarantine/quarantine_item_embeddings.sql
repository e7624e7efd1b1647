select *
from {{ ref('base_raw__item_embeddings') }}
where quarantine_reason is not null
