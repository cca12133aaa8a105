-- Answers to `POST /v1/organisations` sent with an Idempotency-Key. The registry is reference
-- data and does not take migrations/common, so it gets the same table as every service schema
-- (migrations/common/2026-11-22T0003_idempotency.sql): without it such a request failed with 500.
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
