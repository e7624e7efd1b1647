{%- set attributes = user_attribute_columns(source('raw', 'users')) %}
with source as (
    select * from {{ source('raw', 'users') }}
),

typed as (
    select
        cast(user_id as varchar) as user_id,
        {{ utc_timestamp(source('raw', 'users'), 'signup_ts') }} as signup_ts
        {%- for attribute in attributes %},
        cast({{ adapter.quote(attribute) }} as varchar) as {{ adapter.quote(attribute) }}
        {%- endfor %}
    from source
)

select
    *,
    case
        when user_id is null then 'null_user_id'
        when signup_ts is null then 'null_signup_ts'
        when row_number() over (partition by user_id order by signup_ts) > 1 then 'duplicate_user'
    end as quarantine_reason
from typed
