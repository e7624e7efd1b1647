select * exclude (invalid_reason)
from {{ ref('base_raw__onboarding') }}
where quarantine_reason is not null
