select * exclude (quarantine_reason)
from {{ ref('base_raw__users') }}
where quarantine_reason is null
