-- The ledger: every event of every service in one gapless order, the leaf hashes of its Merkle
-- tree, and the signed tree heads. Append-only, like events. Plain PostgreSQL (runs on PGlite).

-- The next index, one row. Taking it with UPDATE … RETURNING holds the row lock until commit, so
-- indexes are handed out in commit order and a rolled-back batch gives its indexes back: gapless.
create table ledger_counter (
  id boolean primary key default true check (id),
  next_index bigint not null check (next_index >= 0)
);
insert into ledger_counter (next_index) values (0);

create table ledger_entries (
  ledger_index bigint primary key check (ledger_index >= 0),
  event_id uuid not null,
  service text not null,
  stream_id text not null,
  stream_version integer not null,
  event_type text not null,
  -- The case the event is about, when its data names one: the case history reads by it.
  case_id text null,
  recorded_at timestamptz not null,
  -- Canonical JSON (RFC 8785) of the event as published: text, not jsonb, so it comes back
  -- byte for byte and the export needs no re-serialisation.
  event text not null,
  leaf_hash text not null check (leaf_hash ~ '^[0-9a-f]{64}$'),
  appended_at timestamptz not null default now(),
  constraint ledger_entries_event_id_unique unique (event_id)
);

create index ledger_entries_case_idx on ledger_entries (case_id, ledger_index) where case_id is not null;
create index ledger_entries_stream_idx on ledger_entries (service, stream_id, stream_version);

-- One head per tree size: several replicas may try to sign the same size, one wins.
create table tree_heads (
  tree_size bigint primary key check (tree_size >= 0),
  root_hash text not null check (root_hash ~ '^[0-9a-f]{64}$'),
  signed_at_ms bigint not null,
  key_id text not null,
  signature text not null,
  created_at timestamptz not null default now()
);

create function ledger_refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception 'the ledger is append-only: % on %.% refused', tg_op, tg_table_schema, tg_table_name;
end
$$;

create trigger ledger_entries_refuse_update_delete before update or delete on ledger_entries
  for each row execute function ledger_refuse_change();
create trigger ledger_entries_refuse_truncate before truncate on ledger_entries
  for each statement execute function ledger_refuse_change();
create trigger tree_heads_refuse_update_delete before update or delete on tree_heads
  for each row execute function ledger_refuse_change();
create trigger tree_heads_refuse_truncate before truncate on tree_heads
  for each statement execute function ledger_refuse_change();

-- ALWAYS: session_replication_role = replica must not skip them. The owner can still disable
-- them; the signed heads held by auditors are what makes a change detectable.
alter table ledger_entries enable always trigger ledger_entries_refuse_update_delete;
alter table ledger_entries enable always trigger ledger_entries_refuse_truncate;
alter table tree_heads enable always trigger tree_heads_refuse_update_delete;
alter table tree_heads enable always trigger tree_heads_refuse_truncate;

revoke update, delete, truncate on ledger_entries, tree_heads from public;
