{#
  Full builds at scale run one statement per user range: the model's SQL builds the first range
  and its post-hook (insert_remaining_ranges) inserts the others. Only one range's aggregation
  state and intermediate lists are in memory at a time, and with rows clustered by user each range
  reads only its own row groups. Incremental runs touch few users and use one statement.
#}

{# Predicates splitting users into ranges of user_id: one range per `events_per_range` (var) raw events. #}
{% macro user_chunks(users_relation) %}
  {%- set events_per_chunk = var('events_per_range', 6000000) | int -%}
  {%- if not execute or is_incremental() -%}{{ return(['true']) }}{%- endif -%}
  {%- set raw_events = run_query("select count(*) from raw.events").columns[0].values()[0] -%}
  {%- set chunks = ((raw_events / events_per_chunk) | round(0, 'ceil') | int) -%}
  {%- if chunks <= 1 -%}{{ return(['true']) }}{%- endif -%}
  {%- set fractions = [] -%}
  {%- for i in range(1, chunks) -%}{%- do fractions.append((i / chunks) | string) -%}{%- endfor -%}
  {%- set bounds = run_query("select unnest(quantile_disc(user_id, [" ~ fractions | join(', ') ~ "])) from " ~ users_relation).columns[0].values() | unique | list -%}
  {%- set predicates = ["user_id < '" ~ bounds[0] ~ "'"] -%}
  {%- for i in range(1, bounds | length) -%}
    {%- do predicates.append("user_id >= '" ~ bounds[i - 1] ~ "' and user_id < '" ~ bounds[i] ~ "'") -%}
  {%- endfor -%}
  {%- do predicates.append("user_id >= '" ~ bounds[-1] ~ "'") -%}
  {{ return(predicates) }}
{% endmacro %}

{#
  The inserts for every range after the first: the post-hook of a ranged full build. The SQL is
  rendered once and the range substituted: rendering runs the macros' introspective queries
  (encoders, attribute values), which cost about 1 s per render of user_features at 1M users.
#}
{% macro insert_remaining_ranges(sql_macro) %}
  {%- set ranges = user_chunks(ref('stg_raw__users')) -%}
  {%- if ranges | length > 1 -%}
    {%- set placeholder = '/* user range */ true' -%}
    {%- set sql = sql_macro(placeholder) -%}
    {%- if placeholder not in sql -%}
      {{ exceptions.raise_compiler_error("insert_remaining_ranges: the SQL does not use its user_range") }}
    {%- endif -%}
    {%- for user_range in ranges[1:] -%}
      insert into {{ this }} {{ sql | replace(placeholder, '(' ~ user_range ~ ')') }};
    {%- endfor -%}
  {%- endif -%}
{% endmacro %}

{#
  The user filter of an incremental user_features run: the users in int_users_refreshed as a
  constant list on every input, on top of the views' own semi-join on that table (in a 1M-user
  refresh of 10k users, user_features took 6.7 s with the list and 12.0 s without). Above
  `max_listed` users (a new day recomputes everyone) the semi-join alone is used: a list of all
  100k users of a 100k-user world made a new day's user_features take 28.1 s, the semi-join 7.3 s.
#}
{% macro refreshed_users_predicate(max_listed=20000) %}
  {%- if not execute -%}{{ return('true') }}{%- endif -%}
  {%- set users = run_query("select user_id from " ~ ref('int_users_refreshed') ~ " order by 1 limit "
                            ~ (max_listed + 1)).columns[0].values() | list -%}
  {%- if users | length > max_listed -%}{{ return('true') }}{%- endif -%}
  {{ return('user_id in (' ~ quoted_list(users) ~ ')') }}
{% endmacro %}
