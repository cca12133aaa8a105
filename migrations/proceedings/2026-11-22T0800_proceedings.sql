-- Read models of the proceedings service. Case facts arrive only through referrals' events on
-- NATS (the inbox makes each one count once); the proceedings tables are projected inline, in
-- the transaction of the command that appended the events.

-- Which organisations take part in a case, and why, as learnt from CaseNotified,
-- NotificationAcknowledged and ParticipantAdded/Removed. Access to a case's proceedings is read
-- from here: an organisation without a qualifying row gets 404.
create table case_facts (
  case_id uuid primary key,
  notifying_organisation_id text not null,
  notifying_organisation_type text not null,
  notified_at timestamptz not null
);

create table case_parties (
  case_id uuid not null,
  organisation_id text not null,
  organisation_type text not null,
  purpose text not null,
  added_at timestamptz not null default now(),
  primary key (case_id, organisation_id, purpose)
);
create index case_parties_org_idx on case_parties (organisation_id, case_id);

create table proceedings_files (
  case_id uuid primary key,
  version int not null,
  participation text not null,
  updated_at timestamptz not null
);

-- One row per duty to inform the victim (stage change, hearing, outcome), so the coordinator's
-- list of overdue duties is an index scan, not a fold of every stream.
create table information_duties (
  duty_id uuid primary key,
  case_id uuid not null,
  criminal_case_id uuid not null,
  kind text not null,
  arisen_at timestamptz not null,
  due_at timestamptz not null,
  status text not null,
  informed_at timestamptz,
  late boolean not null default false
);
create index information_duties_status_due_idx on information_duties (status, due_at, duty_id);
create index information_duties_case_idx on information_duties (case_id);
