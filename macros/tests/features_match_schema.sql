{# Every features vector has the length feature_schema describes, the current schema hash and only finite values. #}
{% test features_match_schema(model) %}
with expected as (
    select sum(dim) as feature_dim, max(schema_hash) as schema_hash from {{ ref('feature_schema') }}
)

select model.user_id, cardinality(model.features) as actual_dim, expected.feature_dim
from {{ model }} as model
cross join expected
where cardinality(model.features) != expected.feature_dim
    or model.feature_schema_hash != expected.schema_hash
    or {{ has_non_finite('model.features') }}
{% endtest %}
