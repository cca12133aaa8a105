-- Read model of the referrals service, maintained in the same transaction as the events
-- (inline projection), so a 201 is followed by a read that sees the case.
create table cases (
  case_id uuid primary key,
  version int not null,
  status text not null,
  situation text not null,
  notifying_organisation_id text not null,
  notified_at timestamptz not null,
  acknowledgement_due_at timestamptz not null,
  acknowledged_at timestamptz,
  regional_centre_id text,
  minor boolean not null,
  attributes jsonb not null,
  acknowledgement jsonb,
  updated_at timestamptz not null
);
create index cases_status_idx on cases (status, case_id);
create index cases_situation_idx on cases (situation, case_id);

-- Who takes part in a case, and why. Access checks read this table: a caller whose
-- organisation has no row here gets 404 for the case.
create table case_participants (
  case_id uuid not null references cases (case_id),
  organisation_id text not null,
  purpose text not null,
  added_at timestamptz not null,
  primary key (case_id, organisation_id, purpose)
);
create index case_participants_org_idx on case_participants (organisation_id, case_id);
