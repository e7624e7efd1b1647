{{ config(materialized='table') }}
{#-
  One row: the day features describe. The `as_of` var when set, else the latest raw event day.
  Event files are immutable once summed, so after the first build the latest timestamp of each
  summed file comes from int_event_files_loaded and only new files are read: reading every
  file's timestamps took 1.1-1.8 s of a 10k-user refresh at 1M users.
-#}
{%- set loaded = adapter.get_relation(this.database, this.schema, 'int_event_files_loaded') %}
{%- set remembered = execute and not flags.FULL_REFRESH and latest_ts_stored(loaded) %}
{%- if var('as_of', none) %}
select date '{{ var("as_of") }}' as as_of
{%- elif not remembered %}
select coalesce(cast(cast(max(ts) as timestamp) as date), current_date) as as_of
from {{ source('raw', 'events') }}
{%- else %}
select coalesce(cast(max(latest_ts) as date), current_date) as as_of
from (
    -- summed files still in the events directory
    select latest_ts from {{ loaded }}
    where source_file in (select source_file from raw.events__files)
    union all
    select cast(max(ts) as timestamp) from {{ source('raw', 'events') }}
    where filename in ({{ quoted_list(new_event_files(without_latest_ts=true)) }})
)
{%- endif %}
