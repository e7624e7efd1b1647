with source as (
    select * from {{ source('raw', 'events') }}
),

typed as (
    select
        cast(user_id as varchar) as user_id,
        cast(item_id as varchar) as item_id,
        {{ utc_timestamp(source('raw', 'events'), 'ts') }} as ts,
        cast(weight as double) as weight,
        {{ optional_column(source('raw', 'events'), 'event_type', 'varchar') }} as event_type,
        cast(filename as varchar) as source_file
    from source
),

checked as (
    select
        typed.*,
        case
            when typed.user_id is null then 'null_user_id'
            when typed.item_id is null then 'null_item_id'
            when typed.ts is null then 'null_timestamp'
            when typed.weight is null or not isfinite(typed.weight) then 'non_finite_weight'
            when typed.weight < 0 then 'negative_weight'
            when typed.ts >= {{ as_of() }} + 1 then 'timestamp_after_as_of'
            when items.item_id is null then 'unknown_item'
            when users.user_id is null then 'unknown_user'
        end as invalid_reason
    from typed
    left join {{ ref('stg_raw__items') }} as items on items.item_id = typed.item_id
    left join {{ ref('stg_raw__users') }} as users on users.user_id = typed.user_id
)

{#-
  No window here: a filter on user_id or on the file name reaches the parquet scan through this
  view. Copies of an event are resolved downstream, by stg_raw__events (keeps one) and
  quarantine_events (holds the others).
-#}
select * from checked
