-- What repatriation knows of each case, learnt only from referrals events on the bus (consumer
-- with inbox): never a read of another service's tables.
create table case_facts (
  case_id uuid primary key,
  notifying_organisation_id text not null,
  national_contact_point_ids jsonb not null,
  regional_centre_id text,
  minor boolean not null,
  birth_year int,
  age_at_identification int,
  identification_date text not null,
  notified_at timestamptz not null,
  return_consent boolean not null default false,
  updated_at timestamptz not null default now()
);

-- Every organisation taking part in a case and why, implied ones included (notifier, contact
-- point, regional centre): access to a return is a row here, anything else is a 404.
create table case_participants (
  case_id uuid not null,
  organisation_id text not null,
  purpose text not null,
  primary key (case_id, organisation_id, purpose)
);
create index case_participants_org_idx on case_participants (organisation_id, case_id);

-- Read model of the return streams, maintained in the command's transaction. `state` is the
-- decider's folded state, so views and the board apply the same gate function as the command.
create table returns (
  return_id uuid primary key,
  case_id uuid not null,
  version int not null,
  phase text not null,
  child boolean not null,
  planned_departure_date text not null,
  late_notification boolean not null,
  requested_by text not null,
  requested_at timestamptz not null,
  state jsonb not null,
  updated_at timestamptz not null
);
-- One active return per case; a cancelled one leaves room for a new request.
create unique index returns_one_active_per_case on returns (case_id) where phase <> 'cancelled';
create index returns_case_idx on returns (case_id, return_id);

-- Deadlines of each return: the acknowledgement and the follow-ups after arrival.
create table return_deadlines (
  return_id uuid not null references returns (return_id),
  case_id uuid not null,
  kind text not null,
  due_at timestamptz not null,
  met_at timestamptz,
  primary key (return_id, kind)
);
create index return_deadlines_due_idx on return_deadlines (due_at) where met_at is null;
