{#
  An aggregate: the engagement-weighted embedding sum of a group, sum(weight * embedding), as a
  FLOAT list, in a query grouped by `embeddings`.encoder whose rows join `embeddings` (rows of
  int_item_embeddings_pivoted, `relation`) to their weights. The list has the encoder's dim
  values (DuckDB) or `max_dim` with NULLs past the encoder's dim (elsewhere); an element past the
  end reads as NULL either way.

  DuckDB: one list aggregate of (item_number, weight) pairs per group, then userrep_embedding_sums
  (python_udfs/embedding_sums.py) gathers the rows of each encoder's item matrix for a batch of
  groups at once, where one SUM per dimension would update an aggregate state per value. The
  function reads the matrices from `relation` and reads them again only when the fingerprint of its
  rows changes (the same expression as ITEM_MATRIX_FINGERPRINT in python_udfs/userrep_udfs.py; a
  difference fails the statement, never sums silently).
  Elsewhere: one SUM per dimension.
#}
{% macro embedding_sums(weight, embeddings, relation, max_dim) %}
  {{ return(adapter.dispatch('embedding_sums', 'userrep')(weight, embeddings, relation, max_dim)) }}
{% endmacro %}

{% macro duckdb__embedding_sums(weight, embeddings, relation, max_dim) -%}
  userrep_embedding_sums(
        {{ sql_string(relation) }},
        {{ embeddings }}.encoder,
        (select bit_xor(hash(encoder, item_number, embedding)) from {{ relation }}),
        list({'item_number': {{ embeddings }}.item_number, 'weight': {{ weight }}})
    )
{%- endmacro %}

{% macro default__embedding_sums(weight, embeddings, relation, max_dim) -%}
  {{ float_list(dimension_expressions('sum(' ~ weight ~ ' * ' ~ embeddings ~ '.e_{i})', max_dim)) }}
{%- endmacro %}
