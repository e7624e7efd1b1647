{# The day the features describe, as a SQL date expression (resolved once per run in stg_raw__as_of). #}
{% macro as_of() %}(select as_of from {{ ref('stg_raw__as_of') }}){% endmacro %}

{#
  Daily rows of `relation` with age_days = days before as_of (0 on as_of itself). A horizon of
  h days is `age_days < h`: the h days ending on as_of, inclusive.
#}
{% macro with_age_days(relation) %}
    select daily.*, date_diff('day', daily.event_day, run.as_of) as age_days
    from {{ relation }} as daily
    cross join {{ ref('stg_raw__as_of') }} as run
{% endmacro %}
