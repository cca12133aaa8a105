-- Reads of personal data still to be recorded as events. The first read of a window is recorded
-- at once (PersonalDataAccessed, count 1); the repeats by the same actor of the same fields for
-- the same purpose until `window_ends_at` (policy TRM_ACCESS_COALESCE_SECONDS) are counted here,
-- in the transaction of each read, and recorded as one PersonalDataAccessed with their count and
-- first and last time once the window is over (by the next read or the scheduler). So every read
-- is accounted for, durably, before its data is returned, without one event per read.
-- Field names only, never values.
create table personal_data_access_windows (
  case_id uuid not null,
  organisation_id text not null,
  actor text not null,
  purpose text not null,
  -- The names of the fields read, sorted and joined with ','.
  fields text not null,
  window_ends_at timestamptz not null,
  repeats int not null default 0 check (repeats >= 0),
  first_repeat_at timestamptz,
  last_repeat_at timestamptz,
  -- Event metadata (actor, organisation, correlation and request ids) of the first repeat.
  metadata jsonb,
  primary key (case_id, organisation_id, actor, purpose, fields)
);
create index personal_data_access_windows_due_idx on personal_data_access_windows (window_ends_at);
