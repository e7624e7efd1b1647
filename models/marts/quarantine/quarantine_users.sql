select *
from {{ ref('base_raw__users') }}
where quarantine_reason is not null
