-- The organisations that may call TRM. Tokens name one; an unknown or inactive one is refused.
-- Rows are deactivated, never deleted: cases and ledger entries keep referring to them.
create table organisations (
  id         text primary key check (id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  type       text not null check (type in (
               'national_contact_point', 'consulate', 'law_enforcement', 'international_organisation',
               'ngo', 'child_protection', 'service_provider', 'auditor', 'statistics_consumer')),
  country    char(2) not null check (country ~ '^[A-Z]{2}$'),
  name       text not null check (length(name) between 1 and 200),
  parent_id  text null references organisations (id),
  active     boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (parent_id is null or parent_id <> id)
);

create index organisations_parent on organisations (parent_id);
create index organisations_country_type on organisations (country, type);
