{#
  Encoders, modalities and user attributes come from the data, so a dataset with other encoder
  names or sizes needs no edit. These run at execution time; at parse time they return placeholders.
#}
{% macro encoder_dims(item_embeddings, items=none) %}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- if items is none -%}
    {%- set sql = "select encoder, max(len(embedding)), null from " ~ item_embeddings ~ " group by 1 order by 1" -%}
  {%- else -%}
    {#- the modality an encoder describes: the one most of its items have -#}
    {%- set sql = "select e.encoder, max(len(e.embedding)), mode(i.modality order by i.modality) from " ~ item_embeddings
        ~ " e join " ~ items ~ " i on i.item_id = e.item_id group by 1 order by 1" -%}
  {%- endif -%}
  {%- set result = [] -%}
  {%- for row in run_query(sql) -%}{%- do result.append({'encoder': row[0], 'dim': row[1] | int, 'modality': row[2]}) -%}{%- endfor -%}
  {{ return(result) }}
{% endmacro %}

{% macro max_encoder_dim(item_embeddings) %}
  {%- set dims = encoder_dims(item_embeddings) | map(attribute='dim') | list -%}
  {{ return((dims | max) if dims else 1) }}
{% endmacro %}

{% macro modalities(items) %}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {{ return(run_query("select distinct modality from " ~ items ~ " order by 1").columns[0].values() | list) }}
{% endmacro %}

{# Categorical user attributes: every users column except the id and the sign-up time. #}
{% macro user_attribute_columns(users_relation) %}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set names = [] -%}
  {%- for column in adapter.get_columns_in_relation(users_relation) -%}
    {%- if column.name | lower not in ['user_id', 'signup_ts', 'quarantine_reason'] -%}{%- do names.append(column.name) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(names | sort) }}
{% endmacro %}

{% macro user_attribute_values(users_relation, column) %}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {{ return(run_query("select distinct " ~ adapter.quote(column) ~ " from " ~ users_relation ~ " where " ~ adapter.quote(column) ~ " is not null order by 1").columns[0].values() | list) }}
{% endmacro %}

{# A column that the raw contract marks optional: the cast column when present, a typed null otherwise. #}
{% macro optional_column(relation, name, data_type) %}
  {%- set present = [] -%}
  {%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(relation) if column.name | lower == name -%}{%- do present.append(1) -%}{%- endfor -%}
  {%- endif -%}
  {%- if present -%}cast({{ name }} as {{ data_type }}){%- else -%}cast(null as {{ data_type }}){%- endif -%}
{% endmacro %}
