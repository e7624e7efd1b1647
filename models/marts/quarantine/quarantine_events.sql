select * exclude (invalid_reason)
from {{ ref('base_raw__events') }}
where quarantine_reason is not null
