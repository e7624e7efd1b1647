select * exclude (quarantine_reason)
from {{ ref('base_raw__item_embeddings') }}
where quarantine_reason is null
