{#
  An aggregate: the engagement-weighted embedding sum of a group, sum(weight * embedding), as a
  FLOAT list of `dim` values, in a query whose rows join `embeddings` (a row of
  int_item_embeddings_pivoted, `relation`, for `encoder`) to their weights.

  DuckDB: two list aggregates per group, then userrep_embedding_sums (python_udfs/embedding_sums.py)
  gathers the rows of the encoder's item matrix for a batch of groups at once, where one SUM per
  dimension would update an aggregate state per value. The function reads the matrix from
  `relation` and reads it again only when the fingerprint of its rows changes.
  Elsewhere: one SUM per dimension.
#}
{% macro embedding_sums(weight, embeddings, relation, encoder, dim) %}
  {{ return(adapter.dispatch('embedding_sums', 'userrep')(weight, embeddings, relation, encoder, dim)) }}
{% endmacro %}

{% macro duckdb__embedding_sums(weight, embeddings, relation, encoder, dim) -%}
  userrep_embedding_sums(
        {{ sql_string(relation) }},
        {{ sql_string(encoder) }},
        (select bit_xor(hash(item_number, embedding)) from {{ relation }} where encoder = {{ sql_string(encoder) }}),
        list({{ embeddings }}.item_number),
        list({{ weight }})
    )
{%- endmacro %}

{% macro default__embedding_sums(weight, embeddings, relation, encoder, dim) -%}
  {{ float_list(dimension_expressions('sum(' ~ weight ~ ' * ' ~ embeddings ~ '.e_{i})', dim)) }}
{%- endmacro %}
