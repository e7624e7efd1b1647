select
    user_id,
    item_id,
    ts,
    quarantine_reason
from {{ ref('base_raw__onboarding') }}
where quarantine_reason is not null
