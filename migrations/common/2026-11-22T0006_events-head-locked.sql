-- The head of a stream read under its lock, in one round trip: the store's append with an 'any'
-- expected version then knows the version, hence every hashed field, and appends with one
-- events_append call. Same rules as 2026-11-22T0006_events-append-function.sql: schema-qualified,
-- VOLATILE (the read after the lock takes a new snapshot), plain plpgsql for PGlite.
do $migration$
declare
  s text := current_schema();
begin
  execute format($f$
create function %1$I.events_head_locked(p_stream text, out stream_version int, out hash text)
language plpgsql volatile as $body$
#variable_conflict use_column
begin
  perform pg_advisory_xact_lock(hashtextextended(%2$L || p_stream, 0));
  select e.stream_version, e.hash into stream_version, hash
    from %1$I.events e where e.stream_id = p_stream order by e.stream_version desc limit 1;
  stream_version := coalesce(stream_version, 0);
end
$body$;
$f$, s, 'trm.events:' || s || ':');
end
$migration$;
