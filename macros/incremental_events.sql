{#
  The valid events a daily-sums model must (re)aggregate in this run.
  Full build: all of them. Incremental: every event of the (user, day) pairs that appear in event
  files not yet in int_event_files_loaded. Whole pairs are recomputed from the deduplicated events,
  so late events land on their day, duplicates across files count once, and a rerun is idempotent.
#}
{% macro events_to_aggregate() %}
    {%- set loaded = adapter.get_relation(this.database, this.schema, 'int_event_files_loaded') -%}
    select user_id, item_id, event_day, weight
    from {{ ref('stg_raw__events') }}
    {%- if is_incremental() and loaded is not none %}
    where (user_id, event_day) in (
        select distinct user_id, event_day
        from {{ ref('stg_raw__events') }}
        where source_file not in (select source_file from {{ loaded }})
    )
    {%- endif %}
{% endmacro %}
