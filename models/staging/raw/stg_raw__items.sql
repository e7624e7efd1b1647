select * exclude (quarantine_reason)
from {{ ref('base_raw__items') }}
where quarantine_reason is null
