-- Honest watermarks: per consumer and source service, the position in the source's global order
-- up to which every event has been applied (no gap below it). Advanced by advanceCompleteMark.
create table consumer_watermarks (
  consumer text not null,
  source text not null,
  transaction_id xid8 not null,
  global_position bigint not null,
  updated_at timestamptz not null default now(),
  primary key (consumer, source)
);
