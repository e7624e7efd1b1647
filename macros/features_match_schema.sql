{# Every features vector has the length feature_schema describes and only finite values. #}
{% test features_match_schema(model) %}
with expected as (
    select sum(dim) as feature_dim, any_value(schema_hash) as schema_hash from {{ ref('feature_schema') }}
)
select model.user_id, len(model.features) as actual_dim, expected.feature_dim
from {{ model }} as model
cross join expected
where len(model.features) != expected.feature_dim
   or model.feature_schema_hash != expected.schema_hash
   or not isfinite(list_sum(model.features))
   or list_count(model.features) != len(model.features)
{% endtest %}
