{#- Grain: one row per file found under the events source, with its fingerprint and, when it cannot be read as events, why. -#}
select
    source_file,
    file_path,
    size_bytes,
    modified_at,
    {{ event_file_problem() }} as file_problem
from {{ source('raw', 'event_files') }}
