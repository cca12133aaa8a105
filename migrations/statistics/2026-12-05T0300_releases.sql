-- Releases (issue 14): figures are published only as of a release, a fixed watermark taken on a
-- schedule or on demand, protected once when it is made and served unchanged until the next one.
create table releases (
  release_id text primary key,
  -- Order of making (created_at follows the service clock, which tests may hold still).
  seq bigint generated always as identity unique,
  created_at timestamptz not null,
  -- 'scheduled' (policy TRM_STATS_RELEASE_EVERY, and at start-up when none exists) or 'on_demand'.
  kind text not null check (kind in ('scheduled', 'on_demand')),
  requested_by text,
  -- Per source service, the honest "complete up to" (transaction id / position) when it was made.
  watermark jsonb not null
);
create index releases_on_demand on releases (kind, created_at);

-- The protected cells of one release, one year, one tier, as published (`payload`), and what the
-- next release of that year and tier compares with (`basis`: counts and amounts published so far;
-- never served).
create table release_years (
  release_id text not null references releases (release_id),
  tier text not null check (tier in ('public', 'internal')),
  year integer not null,
  payload jsonb not null,
  basis jsonb not null,
  primary key (release_id, tier, year)
);
