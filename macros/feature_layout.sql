{#
  The canonical layout of user_features.features: one ordered list of groups, each with a kind,
  optional encoder / horizon / modality, a detail string (category values) and a dim. Both
  user_features (which builds the vector) and feature_schema (which describes and hashes it) read
  this one macro, so the two cannot disagree.
#}
{% macro feature_layout(item_embeddings, items, users) %}
  {%- set groups = [] -%}
  {%- set encoders = encoder_dims(item_embeddings, items) -%}
  {%- set horizons = var('horizons') -%}
  {%- for enc in encoders -%}
    {%- for h in horizons -%}
      {%- do groups.append({'name': enc.encoder ~ '__mean_' ~ h ~ 'd', 'kind': 'behaviour_mean', 'encoder': enc.encoder,
                            'horizon': h, 'modality': enc.modality, 'detail': '', 'dim': enc.dim}) -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- for enc in encoders -%}
    {%- do groups.append({'name': enc.encoder ~ '__onboarding_mean', 'kind': 'onboarding_mean', 'encoder': enc.encoder,
                          'horizon': none, 'modality': enc.modality, 'detail': '', 'dim': enc.dim}) -%}
  {%- endfor -%}
  {%- for modality in modalities(items) -%}
    {%- for h in horizons -%}
      {%- do groups.append({'name': modality ~ '__log_events_' ~ h ~ 'd', 'kind': 'activity', 'encoder': none,
                            'horizon': h, 'modality': modality, 'detail': '', 'dim': 1}) -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- do groups.append({'name': 'days_since_last_event', 'kind': 'recency', 'encoder': none, 'horizon': none,
                        'modality': none, 'detail': '', 'dim': 1}) -%}
  {%- do groups.append({'name': 'tenure_days', 'kind': 'tenure', 'encoder': none, 'horizon': none,
                        'modality': none, 'detail': '', 'dim': 1}) -%}
  {%- for attribute in user_attribute_columns(users) -%}
    {%- set values = user_attribute_values(users, attribute) -%}
    {%- if values -%}
      {%- do groups.append({'name': attribute, 'kind': 'categorical', 'encoder': none, 'horizon': none,
                            'modality': none, 'detail': values | join('|'), 'dim': values | length}) -%}
    {%- endif -%}
  {%- endfor -%}
  {#- presence flags: 1 when the group above carries signal, 0 when it is zero-filled -#}
  {%- for enc in encoders -%}
    {%- for h in horizons -%}
      {%- do groups.append({'name': enc.encoder ~ '__mean_' ~ h ~ 'd__present', 'kind': 'presence', 'encoder': enc.encoder,
                            'horizon': h, 'modality': enc.modality, 'detail': enc.encoder ~ '__mean_' ~ h ~ 'd', 'dim': 1}) -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- for enc in encoders -%}
    {%- do groups.append({'name': enc.encoder ~ '__onboarding_mean__present', 'kind': 'presence', 'encoder': enc.encoder,
                          'horizon': none, 'modality': enc.modality, 'detail': enc.encoder ~ '__onboarding_mean', 'dim': 1}) -%}
  {%- endfor -%}
  {%- do groups.append({'name': 'days_since_last_event__present', 'kind': 'presence', 'encoder': none, 'horizon': none,
                        'modality': none, 'detail': 'days_since_last_event', 'dim': 1}) -%}
  {%- set offset = namespace(value=0) -%}
  {%- for group in groups -%}
    {%- do group.update({'offset': offset.value}) -%}
    {%- set offset.value = offset.value + group.dim -%}
  {%- endfor -%}
  {{ return(groups) }}
{% endmacro %}

{#
  The SQL expression (a FLOAT list of exactly `dim` values) for one group inside user_features,
  given the join aliases that user_features sets up. Missing signal is zeros, never NULL.
#}
{% macro feature_group_sql(group, encoder_alias, modality_alias) %}
  {%- set kind = group.kind -%}
  {%- if kind == 'behaviour_mean' -%}
    coalesce({{ encoder_alias[group.encoder] }}.mean_{{ group.horizon }}d, {{ zeros(group.dim) }})
  {%- elif kind == 'onboarding_mean' -%}
    coalesce({{ encoder_alias[group.encoder] }}_onboarding.mean_embedding, {{ zeros(group.dim) }})
  {%- elif kind == 'activity' -%}
    [ln(1 + coalesce({{ modality_alias[group.modality] }}.event_count_{{ group.horizon }}d, 0))]
  {%- elif kind == 'recency' -%}
    [coalesce(date_diff('day', activity.last_event_day, {{ as_of() }}), 0)]
  {%- elif kind == 'tenure' -%}
    [greatest(date_diff('day', cast(users.signup_ts as date), {{ as_of() }}), 0)]
  {%- elif kind == 'categorical' -%}
    [{% for value in group.detail.split('|') %}(users.{{ adapter.quote(group.name) }} = '{{ value | replace("'", "''") }}')::float{{ ', ' if not loop.last }}{% endfor %}]
  {%- elif kind == 'presence' and group.encoder and group.horizon -%}
    [(coalesce({{ encoder_alias[group.encoder] }}.weight_{{ group.horizon }}d, 0) > 0)::float]
  {%- elif kind == 'presence' and group.encoder -%}
    [({{ encoder_alias[group.encoder] }}_onboarding.mean_embedding is not null)::float]
  {%- elif kind == 'presence' -%}
    [(activity.last_event_day is not null)::float]
  {%- else -%}
    {{ exceptions.raise_compiler_error("unknown feature group kind " ~ kind) }}
  {%- endif -%}
{% endmacro %}

{# The line of a group that enters the schema hash; userrep.schema.schema_hash mirrors it in Python. #}
{% macro feature_group_hash_line(group) -%}
  {{ group.name }}|{{ group.kind }}|{{ group.encoder or '' }}|{{ group.horizon or '' }}|{{ group.modality or '' }}|{{ group.detail }}|{{ group.offset }}|{{ group.dim }}
{%- endmacro %}
