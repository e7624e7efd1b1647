{# The combination of `columns` identifies a row (a composite key). #}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_per_key
from {{ model }}
group by all
having count(*) > 1
{% endtest %}
