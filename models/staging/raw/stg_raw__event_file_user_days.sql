{#- Grain: one row per raw event file x user x day. Which users and days a file touches, read
    without deduplication so that a filter on the file prunes the scan to that file. -#}
select distinct
    filename as source_file,
    cast(user_id as varchar) as user_id,
    cast({{ utc_timestamp(source('raw', 'events'), 'ts') }} as date) as event_day
from {{ source('raw', 'events') }}
where user_id is not null and ts is not null
