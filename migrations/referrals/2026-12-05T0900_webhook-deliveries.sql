-- The webhook outbox of this service (docs/integration.md, webhooks): one row per notification
-- of one of this service's events to one subscription, filled by the service's own consumer of
-- its events (durable <service>-webhooks, in the consumer's transaction: exactly once per event
-- and subscription) and emptied by the dispatcher loop of any replica (FOR UPDATE SKIP LOCKED).
-- `payload` is the exact JSON body sent (a thin notification: ids and type, never event data).
create table webhook_deliveries (
  id uuid primary key,
  subscription_id uuid not null,
  organisation_id text not null,
  event_id uuid not null,
  event_type text not null,
  case_id uuid,
  payload text not null,
  -- pending → delivered | dead (attempts or age exhausted, or 410 Gone) | cancelled (subscription
  -- deleted, organisation no longer taking part); a redelivery makes any of them pending again.
  status text not null default 'pending' check (status in ('pending', 'delivered', 'dead', 'cancelled')),
  attempts int not null default 0,
  last_status_code int,
  last_error text,
  last_attempt_at timestamptz,
  next_attempt_at timestamptz not null default now(),
  delivered_at timestamptz,
  created_at timestamptz not null default now(),
  -- The retry policy (attempts, hours) counts from here: the first attempt, or the last redelivery.
  retry_from timestamptz not null default now(),
  attempts_before_retry int not null default 0,
  unique (subscription_id, event_id)
);
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_subscription_idx on webhook_deliveries (subscription_id, created_at desc);

-- The referrals service serves /v1/webhooks/{id}/deliveries and redeliveries for every service:
-- with one role per service (deploy/postgres/roles.sql) it may read these rows and make them pending again.
do $grant$
begin
  if exists (select 1 from pg_roles where rolname = 'trm_referrals') and current_schema() <> 'referrals' then
    execute format('grant usage on schema %I to trm_referrals', current_schema());
    execute format('grant select, update (status, next_attempt_at, last_error, retry_from, attempts_before_retry) on table %I.webhook_deliveries to trm_referrals', current_schema());
  end if;
end
$grant$;
