{%- set attributes = user_attribute_columns(source('raw', 'users')) %}
with source as (
    select * from {{ source('raw', 'users') }}
),

typed as (
    select
        cast(user_id as string) as user_id,
        {{ utc_timestamp(source('raw', 'users'), 'signup_ts') }} as signup_ts,
        signup_ts is not null as has_signup_ts
        {%- for attribute in attributes %},
        cast({{ quote_name(attribute) }} as string) as {{ quote_name(attribute) }}
        {%- endfor %}
    from source
)

select
    user_id,
    signup_ts,
    {%- for attribute in attributes %}
    {{ quote_name(attribute) }},
    {%- endfor %}
    case
        when user_id is null then 'null_user_id'
        when not has_signup_ts then 'null_signup_ts'
        when signup_ts is null then 'unparseable_signup_ts'
        when signup_ts > {{ clock_cut() }} then 'future_signup_ts'
        when row_number() over (partition by user_id order by signup_ts) > 1 then 'duplicate_user'
    end as quarantine_reason
from typed
