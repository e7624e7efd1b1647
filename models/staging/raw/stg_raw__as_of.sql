{{ config(materialized='table') }}
{#- One row: the day features describe. The `as_of` var when set, else the latest raw event day. -#}
{%- if var('as_of', none) %}
select date '{{ var("as_of") }}' as as_of
{%- else %}
-- max(ts) before the cast: parquet row-group statistics answer it without reading the column
select coalesce(cast(cast(max(ts) as timestamp) as date), current_date) as as_of
from {{ source('raw', 'events') }}
{%- endif %}
