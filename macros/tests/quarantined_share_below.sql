{#
  Warns when more than `max_share` of a staging model's raw rows are quarantined, per value of
  `column` (e.g. an encoder whose embeddings split between two lengths): a share that large is
  rarely bad rows and usually a change in how the data is produced.
#}
{% test quarantined_share_below(model, column, max_share=0.05) %}
with counted as (
    select
        {{ column }} as value,
        count(*) as raw_rows,
        sum(case when quarantine_reason is not null then 1 else 0 end) as quarantined_rows
    from {{ model }}
    group by {{ column }}
)

select * from counted
where quarantined_rows > {{ max_share }} * raw_rows
{% endtest %}
