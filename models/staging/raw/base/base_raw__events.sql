{%- set plan = run_plan() %}
{%- set raw_path_length = raw_dir() | length %}
with source as (
    select * from {{ source('raw', 'events') }}
),

typed as (
    select
        cast(user_id as string) as user_id,
        cast(item_id as string) as item_id,
        {{ utc_timestamp(source('raw', 'events'), 'ts') }} as ts,
        {{ try_double('weight') }} as weight,
        {{ optional_column(source('raw', 'events'), 'event_type', 'string') }} as event_type,
        filename as file_path,
        substr(filename, {{ raw_path_length + 2 }}) as source_file,
        -- as the file holds them: turned into text only for the rows whose invalid_value shows them
        ts as raw_ts,
        weight as raw_weight
    from source
),

users as (
    select user_id from {{ ref('stg_raw__users') }}
),

items as (
    select item_id from {{ ref('stg_raw__items') }}
),

checked as (
    select
        typed.*,
        case
            when typed.user_id is null then 'null_user_id'
            when typed.item_id is null then 'null_item_id'
            when typed.raw_ts is null then 'null_timestamp'
            when typed.ts is null then 'unparseable_timestamp'
            when typed.ts > {{ clock_cut() }} then 'future_timestamp'
            when typed.raw_weight is null then 'null_weight'
            when typed.weight is null then 'unparseable_weight'
            when not {{ is_finite('typed.weight') }} then 'non_finite_weight'
            when typed.weight < 0 then 'negative_weight'
            when typed.weight > {{ max_weight() }} then 'weight_out_of_range'
            when typed.ts >= {{ plan.as_of }} + 1 then 'timestamp_after_as_of'
            when items.item_id is null then 'unknown_item'
            when users.user_id is null then 'unknown_user'
        end as invalid_reason
    from typed
    left join items on items.item_id = typed.item_id
    left join users on users.user_id = typed.user_id
)

{#- No window and no GROUP BY here, so that a filter on user_id or file_path reaches the parquet
    scan through this view. Copies of an event are resolved by stg_raw__events (keeps one) and
    quarantine_events (holds the others). #}
select
    user_id,
    item_id,
    ts,
    cast(ts as date) as event_day,
    weight,
    event_type,
    file_path,
    source_file,
    invalid_reason,
    case invalid_reason
        when 'unparseable_timestamp' then cast(raw_ts as string)
        when 'unparseable_weight' then cast(raw_weight as string)
        when 'weight_out_of_range' then cast(raw_weight as string)
    end as invalid_value
from checked
