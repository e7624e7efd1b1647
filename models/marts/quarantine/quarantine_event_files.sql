{#- Grain: one row per file under the events source that cannot be read as events, with the reason; its rows are not in raw.events. -#}
select
    source_file,
    size_bytes,
    modified_at,
    file_problem as quarantine_reason
from {{ ref('stg_raw__event_files') }}
where file_problem is not null
