-- Event store: one append-only events table per service schema. It is also the outbox the relay
-- tails. Frozen in time: plain PostgreSQL + plpgsql, no extensions, so it also runs on PGlite.

create table events (
  global_position bigint generated always as identity primary key,
  -- Readers of the global order checkpoint on (transaction_id, global_position) and stop at
  -- pg_snapshot_xmin: global_position alone is assigned before commit, so a transaction that
  -- commits late would land behind a reader's checkpoint and be skipped for ever.
  transaction_id xid8 not null default pg_current_xact_id(),
  stream_id text not null check (stream_id <> ''),
  stream_version integer not null check (stream_version >= 1),
  event_id uuid not null,
  event_type text not null check (event_type <> ''),
  schema_version integer not null check (schema_version >= 1),
  data jsonb not null,
  metadata jsonb not null check (jsonb_typeof(metadata) = 'object'),
  recorded_at timestamptz not null,
  prev_hash text null check (prev_hash ~ '^[0-9a-f]{64}$'),
  hash text not null check (hash ~ '^[0-9a-f]{64}$'),
  constraint events_event_id_unique unique (event_id),
  -- Optimistic concurrency rests on this: two writers that read the same stream version cannot
  -- both insert the next one.
  constraint events_stream_version_unique unique (stream_id, stream_version),
  -- The chain starts at version 1 and only there.
  constraint events_prev_hash_iff_not_first check ((stream_version = 1) = (prev_hash is null))
);

create index events_global_order_idx on events (transaction_id, global_position);

create function events_refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception 'events are append-only: % on %.% refused', tg_op, tg_table_schema, tg_table_name
    using hint = 'Record a compensating event instead.';
end
$$;

create trigger events_refuse_update_delete
  before update or delete on events
  for each row execute function events_refuse_change();

-- Row triggers do not fire on TRUNCATE.
create trigger events_refuse_truncate
  before truncate on events
  for each statement execute function events_refuse_change();

-- ALWAYS, so that session_replication_role = replica (which any superuser session can set) does
-- not silently skip them. The owner can still disable them; the signed ledger heads are the real
-- guarantee (verifyStream finds the changed row).
alter table events enable always trigger events_refuse_update_delete;
alter table events enable always trigger events_refuse_truncate;

revoke update, delete, truncate on events from public;

-- Wakes the relay. Statement-level: one notify per insert statement, not per row; PostgreSQL also
-- folds identical notifications of one transaction into one, delivered at commit only.
create function events_notify_appended() returns trigger
language plpgsql as $$
begin
  perform pg_notify('trm_events', tg_table_schema);
  return null;
end
$$;

create trigger events_notify_appended
  after insert on events
  for each statement execute function events_notify_appended();
