{#
  Nothing is lost silently: every raw row is either accepted by staging or kept in quarantine.
  Attached to a quarantine model; fails with one row when accepted + quarantined != raw.
#}
{% test accepted_plus_quarantined_equals_raw(model, raw, accepted) %}
with counts as (
    select
        (select count(*) from {{ raw }}) as raw_rows,
        (select count(*) from {{ accepted }}) as accepted_rows,
        (select count(*) from {{ model }}) as quarantined_rows
)

select * from counts where accepted_rows + quarantined_rows != raw_rows
{% endtest %}
