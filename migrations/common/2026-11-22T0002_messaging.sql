-- Messaging tables of every service schema: the relay's position in the events table, the
-- consumers' inbox (exactly-once effect) and the dead letters. Unqualified: applied with
-- search_path set to the service's schema. Runs on PostgreSQL 15+ and PGlite.

-- (transaction_id, global_position) and not the position alone: a transaction that commits
-- late holds a lower position than events already published.
create table relay_checkpoints (
  relay text primary key,
  transaction_id xid8 not null,
  global_position bigint not null,
  updated_at timestamptz not null default now()
);

-- A consumer's handler and the insert of the event id commit together; a redelivery finds the
-- row and is skipped.
create table inbox (
  consumer text not null,
  event_id uuid not null,
  processed_at timestamptz not null default now(),
  primary key (consumer, event_id)
);

-- Messages a consumer gave up on after its last delivery. Never deleted by the bus: an operator
-- replays or discards them. event_id is null only when the message was not an event envelope.
create table dead_letters (
  id bigint generated always as identity primary key,
  consumer text not null,
  event_id uuid,
  subject text not null,
  payload jsonb,
  error text not null,
  deliveries integer not null,
  dead_at timestamptz not null default now(),
  unique (consumer, event_id)
);
