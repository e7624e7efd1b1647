{#
  What the raw files hold, read from their columns (a metadata query): a dataset with other
  attributes needs no edit, and a column the contract marks optional may be absent.
#}

{# Categorical user attributes: every users column except the id and the sign-up time. #}
{% macro user_attribute_columns(users_relation) %}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set names = [] -%}
  {%- for column in adapter.get_columns_in_relation(users_relation) -%}
    {%- if column.name | lower not in ['user_id', 'signup_ts', 'quarantine_reason'] -%}{%- do names.append(column.name) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(names | sort) }}
{% endmacro %}

{# A column that the raw contract marks optional: the cast column when present, a typed null otherwise. #}
{% macro optional_column(relation, name, data_type) %}
  {%- set present = [] -%}
  {%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(relation) if column.name | lower == name -%}{%- do present.append(1) -%}{%- endfor -%}
  {%- endif -%}
  {%- if present -%}cast({{ name }} as {{ data_type }}){%- else -%}cast(null as {{ data_type }}){%- endif -%}
{% endmacro %}
