{#
  The valid events a daily-sums model must (re)aggregate in this run.

  Full build: all of them. Incremental: every event of the (user, day) pairs that appear in event
  files not yet in int_event_files_loaded. Whole pairs are recomputed from the deduplicated events,
  so late events land on their day, duplicates across files count once, and a rerun is idempotent.
  The touched users go in as a constant list: DuckDB pushes it through the deduplication window
  into the parquet scan, so the cost follows the batch, not the history.
#}
{% macro events_to_aggregate() %}
    {%- set loaded = adapter.get_relation(this.database, this.schema, 'int_event_files_loaded') -%}
    {%- if not (is_incremental() and loaded is not none and execute) %}
    select user_id, item_id, event_day, weight from {{ ref('stg_raw__events') }}
    {%- else %}
        {%- set new_files = run_query("select source_file from raw.events__files where source_file not in (select source_file from "
                                      ~ loaded ~ ") order by 1").columns[0].values() | list -%}
        {%- set file_list = quoted_list(new_files) -%}
        {%- set touched_users = run_query("select distinct user_id from " ~ ref('stg_raw__event_file_user_days')
                                          ~ " where source_file in (" ~ file_list ~ ") order by 1").columns[0].values() | list -%}
    select user_id, item_id, event_day, weight
    from {{ ref('stg_raw__events') }}
    where user_id in ({{ quoted_list(touched_users) }})
        and (user_id, event_day) in (
            select user_id, event_day from {{ ref('stg_raw__event_file_user_days') }} where source_file in ({{ file_list }})
        )
    {%- endif %}
{% endmacro %}

{# 'a', 'b', ... as SQL literals; NULL for an empty list, so `x in (NULL)` matches nothing. #}
{% macro quoted_list(values) -%}
  {%- if values | length == 0 -%}null{%- else -%}
  {%- for v in values %}'{{ v | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor -%}
  {%- endif -%}
{%- endmacro %}
