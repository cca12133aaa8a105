-- Answers to creating POSTs sent with an Idempotency-Key, stored in the same transaction as the
-- work they answer so a retry after a crash either finds the answer or finds nothing was done.
-- Keys are scoped to the calling organisation. Rows older than the retention (24 h by default)
-- are purged by purgeIdempotencyKeys.
create table idempotency_keys (
  org_id       text        not null,
  key          text        not null check (length(key) between 1 and 255),
  request_hash text        not null,
  status_code  int         not null check (status_code between 200 and 599),
  headers      jsonb       not null default '{}'::jsonb,
  body         jsonb,
  created_at   timestamptz not null default now(),
  primary key (org_id, key)
);

create index idempotency_keys_created_at on idempotency_keys (created_at);
