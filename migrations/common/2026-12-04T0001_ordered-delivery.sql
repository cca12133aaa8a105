-- Per-stream order for consumers, dead letters an operator can act on, and relay leadership by
-- lease. Unqualified: applied with search_path set to the service's schema. PostgreSQL 15+ and PGlite.

-- The last version of each source stream a consumer applied. The next version is applied, an older
-- one is a duplicate, a newer one waits until the gap is filled (or the gap is read from the
-- source). It is also what makes the inbox prunable: a redelivery after the inbox row is gone is
-- still recognised here.
create table consumer_streams (
  consumer text not null,
  source text not null,
  stream_id text not null,
  version integer not null check (version >= 0),
  updated_at timestamptz not null default now(),
  primary key (consumer, source, stream_id)
);

-- Which source stream and version a dead letter belongs to: later events of that stream wait
-- behind it, and the operator replays or discards it (bus:doctor). Resolved rows are kept as the
-- record of what was done.
alter table dead_letters
  add column source text,
  add column stream_id text,
  add column stream_version integer,
  add column resolved_at timestamptz,
  add column resolution text check (resolution in ('replayed', 'discarded'));

create index dead_letters_open_by_stream on dead_letters (consumer, source, stream_id, stream_version)
  where resolved_at is null;

-- Inbox rows older than the retention are pruned (consumer_streams keeps duplicates out).
create index inbox_processed_at on inbox (processed_at);

-- Relay leadership: one holder per relay name, renewed by heartbeat, taken over once it expires.
-- Times come from the database's clock, never a replica's.
create table relay_leases (
  relay text primary key,
  holder text not null,
  expires_at timestamptz not null,
  acquired_at timestamptz not null default now()
);

-- The stream a relay publishes to, as it last saw it: a stream recreated empty (NATS store wiped)
-- or one whose last sequence fell below what the relay published (tail lost in a crash) makes the
-- relay publish again from the start; consumers drop what they already applied.
alter table relay_checkpoints
  add column stream_created text,
  add column stream_seq bigint;
