{#-
  One row per (user, item, timestamp): copies of an event, in one file or across files, are one
  event with the highest weight, then the first file name (quarantine_events holds the others).
  A filter on user_id still reaches the parquet scan (a full build's user range reads only its
  own row groups). See deduplicated_events_sql.
-#}
{{ deduplicated_events_sql() }}
