{%- set attributes = user_attribute_columns(source('raw', 'users')) %}
select
    user_id,
    signup_ts
    {%- for attribute in attributes %},
    {{ quote_name(attribute) }}
    {%- endfor %}
from {{ ref('base_raw__users') }}
where quarantine_reason is null
