-- Webhook subscriptions (docs/integration.md, webhooks): an organisation's admin asks for a
-- signed, thin notification at `url` for the events of its cases its purposes see. Kept in the
-- registry schema, written by the referrals service (which serves /v1/webhooks) and read by every
-- service that delivers notifications (its own webhook_deliveries outbox). No secret is stored:
-- notifications are signed with TRM's Ed25519 key (Standard Webhooks v1a), whose public half is
-- served at /v1/webhooks/keys.
create table webhook_subscriptions (
  id uuid primary key,
  organisation_id text not null references organisations (id),
  url text not null,
  -- null: every event type the organisation may see.
  event_types text[],
  created_by text not null,
  created_at timestamptz not null default now(),
  -- Set by DELETE: no new deliveries, pending ones are cancelled; the row stays for the deliveries' history.
  deleted_at timestamptz
);
create index webhook_subscriptions_active_idx on webhook_subscriptions (organisation_id) where deleted_at is null;

do $grant$
begin
  if exists (select 1 from pg_roles where rolname = 'trm_registry_readers') then
    execute format('grant select on table %I.webhook_subscriptions to trm_registry_readers', current_schema());
  end if;
end
$grant$;
