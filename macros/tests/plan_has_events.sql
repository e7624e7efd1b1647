{#
  Warns when the newest run plan's as_of has no event behind it (no readable events file, or only
  empty ones): every user then gets only recency, tenure and attributes.
#}
{% test plan_has_events(model) %}
select planned_at, as_of, as_of_source, event_rows
from {{ model }}
where planned_at = (select max(planned_at) from {{ model }})
    and event_rows = 0
{% endtest %}
