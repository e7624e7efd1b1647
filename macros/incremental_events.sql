{#
  The valid events a daily-sums model must (re)aggregate in this run.

  Only days the longest horizon can reach (horizon_window_start). Full build: all of those.
  Incremental: every event of the (user, day) pairs that appear in event files not yet in
  int_event_files_loaded. Whole pairs are recomputed from the deduplicated events,
  so late events land on their day, duplicates across files count once, and a rerun is idempotent.
  Two constant lists reach the parquet scan below the deduplication: the touched users, and the
  files that can hold an event inside the window (event_files_reaching_window). Random users touch
  every row group, so the cost still grows with the events inside the window; files of older days
  (an event log split by time) are not read at all.
#}
{% macro events_to_aggregate() %}
    {%- set loaded = adapter.get_relation(this.database, this.schema, 'int_event_files_loaded') -%}
    {%- if not (is_incremental() and loaded is not none and execute) %}
    select user_id, item_id, event_day, weight from {{ ref('stg_raw__events') }}
    where event_day >= {{ horizon_window_start() }}
    {%- else %}
        {%- do require_as_of_not_moved_back() -%}
        {%- set new_files = new_event_files() %}
        {%- set file_list = quoted_list(new_files) %}
    select user_id, item_id, event_day, weight
    from (
        {{ deduplicated_events_sql("source_file in (" ~ quoted_list(event_files_reaching_window()) ~ ")"
                                   ~ " and user_id in (" ~ quoted_list(users_in_event_files(new_files)) ~ ")") }}
    ) as events
    where event_day >= {{ horizon_window_start() }}
        and (user_id, event_day) in (
            select user_id, event_day from {{ ref('stg_raw__event_file_user_days') }} where source_file in ({{ file_list }})
        )
    {%- endif %}
{% endmacro %}

{#
  The raw event files not yet in int_event_files_loaded (all of them before the first build).
  without_latest_ts: also the summed files whose row holds no latest_ts (summed before the column
  existed), i.e. every file whose latest timestamp must still be read from the parquet.
#}
{% macro new_event_files(without_latest_ts=false) %}
  {{ return(event_files_except_loaded('latest_ts is not null' if without_latest_ts else 'true', needs_latest_ts=without_latest_ts)) }}
{% endmacro %}

{#
  The raw event files that can hold an event on or after horizon_window_start(): every file but
  the summed ones whose latest timestamp is before that day. A copy of an event has its timestamp,
  so no copy of an event inside the window is left out.
#}
{% macro event_files_reaching_window() %}
  {{ return(event_files_except_loaded('cast(latest_ts as date) < ' ~ horizon_window_start(), needs_latest_ts=true)) }}
{% endmacro %}

{#
  The raw event files (raw.events__files, a glob) except those summed in int_event_files_loaded
  whose row matches `where`. A `where` on latest_ts needs_latest_ts: in a warehouse built before
  that column existed no summed file is excluded.
#}
{% macro event_files_except_loaded(where='true', needs_latest_ts=false) %}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set loaded = adapter.get_relation(this.database, this.schema, 'int_event_files_loaded') -%}
  {%- set sql = "select source_file from raw.events__files" -%}
  {%- if loaded is not none and (latest_ts_stored(loaded) or not needs_latest_ts) -%}
    {%- set sql = sql ~ " where source_file not in (select source_file from " ~ loaded ~ " where " ~ where ~ ")" -%}
  {%- endif -%}
  {{ return(run_query(sql ~ " order by 1").columns[0].values() | list) }}
{% endmacro %}

{# Whether int_event_files_loaded (`loaded`) has its latest_ts column: warehouses built before it lack it. #}
{% macro latest_ts_stored(loaded) %}
  {{ return(loaded is not none and 'latest_ts' in adapter.get_columns_in_relation(loaded) | map(attribute='name') | list) }}
{% endmacro %}

{#
  The users with rows in these event files, as a constant list for the user_id filter below the
  deduplication (deduplicated_events_sql): a key of its GROUP BY, so the filter reaches the
  parquet scan without dropping a copy of any of their events from another file.
#}
{% macro users_in_event_files(files) %}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {{ return(run_query("select distinct user_id from " ~ ref('stg_raw__event_file_user_days') ~ " where source_file in ("
                      ~ quoted_list(files) ~ ") order by 1").columns[0].values() | list) }}
{% endmacro %}

{# The post-hook of an incremental daily model: drop the days that aged out of every horizon. #}
{% macro prune_days_before_window() %}
  {%- if is_incremental() -%}
    delete from {{ this }} where event_day < {{ horizon_window_start() }}
  {%- endif -%}
{% endmacro %}

{# 'a', 'b', ... as SQL literals; NULL for an empty list, so `x in (NULL)` matches nothing. #}
{% macro quoted_list(values) -%}
  {%- if values | length == 0 -%}null{%- else -%}
  {%- for v in values %}'{{ v | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor -%}
  {%- endif -%}
{%- endmacro %}
