-- The event store's append in one statement (one round trip instead of BEGIN, lock, head read,
-- INSERT, COMMIT), and the locked stream read handleCommand decides on.
--
-- The client sends, per event, the canonical JSON it hashes (canonicalEventBytes: eventId,
-- streamId, streamVersion, type, schemaVersion, data, metadata, recordedAt). events_append takes
-- the stream lock (the key the store's own lock uses), checks the head is at p_expected, chains
-- sha256(prev hash bytes || canonical bytes) exactly as computeEventHash does, and inserts the
-- fields parsed from those same bytes, so what is stored is what was hashed. A head other than
-- p_expected raises SQLSTATE P0409 with the actual version in DETAIL (the client's
-- ConcurrencyError); the (stream_id, stream_version) unique constraint stays the final guarantee.
--
-- Each statement of a VOLATILE plpgsql function takes a new snapshot under READ COMMITTED, so the
-- reads after the lock see the previous lock holder's commit. Names are schema-qualified (built
-- with format() from the schema this migration runs in): the functions never follow a caller's
-- search_path. Plain plpgsql and built-ins only, so it also runs on PGlite.
do $migration$
declare
  s text := current_schema();
begin
  execute format($f$
create function %1$I.events_append(p_stream text, p_expected int, p_canonical text[])
returns table (global_position text, transaction_id text, stream_version int, prev_hash text, hash text)
language plpgsql volatile as $body$
#variable_conflict use_column
declare
  head_version int;
  head_hash text;
  prev text;
  c jsonb;
  prevs text[] := '{}';
  hashes text[] := '{}';
  docs jsonb[] := '{}';
begin
  if p_stream is null or p_expected is null or p_expected < 0 or coalesce(cardinality(p_canonical), 0) = 0 then
    raise exception 'events_append: a stream, an expected version >= 0 and at least one event are required'
      using errcode = '22023';
  end if;
  perform pg_advisory_xact_lock(hashtextextended(%2$L || p_stream, 0));
  select e.stream_version, e.hash into head_version, head_hash
    from %1$I.events e where e.stream_id = p_stream order by e.stream_version desc limit 1;
  if coalesce(head_version, 0) <> p_expected then
    raise exception 'stream %% is at version %%, expected %%', p_stream, coalesce(head_version, 0), p_expected
      using errcode = 'P0409', detail = coalesce(head_version, 0)::text;
  end if;
  prev := head_hash;
  for i in 1 .. cardinality(p_canonical) loop
    c := p_canonical[i]::jsonb;
    if c->>'streamId' is distinct from p_stream or (c->>'streamVersion')::int is distinct from p_expected + i then
      raise exception 'events_append: event %% of %% is not version %% of this stream', i, p_stream, p_expected + i
        using errcode = '22023';
    end if;
    docs[i] := c;
    prevs[i] := prev;
    prev := encode(sha256(coalesce(decode(prev, 'hex'), ''::bytea) || convert_to(p_canonical[i], 'UTF8')), 'hex');
    hashes[i] := prev;
  end loop;
  -- One INSERT for the whole append, as the store's own path.
  return query
    with inserted as (
      insert into %1$I.events as e
        (stream_id, stream_version, event_id, event_type, schema_version, data, metadata, recorded_at, prev_hash, hash)
      select p_stream, p_expected + x.n::int, (x.d->>'eventId')::uuid, x.d->>'type', (x.d->>'schemaVersion')::int,
             x.d->'data', x.d->'metadata', (x.d->>'recordedAt')::timestamptz, x.p, x.h
        from unnest(docs, prevs, hashes) with ordinality as x(d, p, h, n)
      returning e.global_position, e.transaction_id, e.stream_version, e.prev_hash, e.hash
    )
    select i.global_position::text, i.transaction_id::text, i.stream_version, i.prev_hash, i.hash
      from inserted i order by i.stream_version;
end
$body$;

create function %1$I.events_read_locked(p_stream text)
returns setof %1$I.events
language plpgsql volatile as $body$
begin
  perform pg_advisory_xact_lock(hashtextextended(%2$L || p_stream, 0));
  return query select * from %1$I.events e where e.stream_id = p_stream order by e.stream_version;
end
$body$;
$f$, s, 'trm.events:' || s || ':');
end
$migration$;
