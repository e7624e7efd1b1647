select *
from {{ ref('base_raw__items') }}
where quarantine_reason is not null
