select
    * exclude (quarantine_reason, invalid_reason),
    cast(ts as date) as event_day
from {{ ref('base_raw__events') }}
where quarantine_reason is null
