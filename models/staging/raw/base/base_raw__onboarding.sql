with source as (
    select * from {{ source('raw', 'onboarding') }}
),

typed as (
    select
        cast(user_id as string) as user_id,
        cast(item_id as string) as item_id,
        {{ utc_timestamp(source('raw', 'onboarding'), 'ts') }} as ts
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
            when users.user_id is null then 'unknown_user'
            when items.item_id is null then 'unknown_item'
        end as invalid_reason
    from typed
    left join users on users.user_id = typed.user_id
    left join items on items.item_id = typed.item_id
)

select
    user_id,
    item_id,
    ts,
    -- the row's own problem, before deduplication: selecting this without quarantine_reason skips the window
    invalid_reason,
    coalesce(
        invalid_reason,
        case when row_number() over (
            partition by user_id, item_id order by invalid_reason nulls first, ts
        ) > 1 then 'duplicate_pick' end
    ) as quarantine_reason
from checked
