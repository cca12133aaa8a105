-- Deadlines of every case (acknowledgement, requests for information, reflection periods),
-- projected inline from the case streams. GET /v1/deadlines and the scheduler that records
-- DeadlineMissed read it; the case stream stays the truth (the decider refuses a second
-- DeadlineMissed for the same deadline id).
create table case_deadlines (
  case_id uuid not null references cases (case_id),
  deadline_id text not null,
  kind text not null,
  due_at timestamptz not null,
  -- Organisations that must act; the contact points of the case see every deadline of it.
  owner_org_ids text[] not null,
  met boolean not null default false,
  missed_at timestamptz,
  primary key (case_id, deadline_id)
);
create index case_deadlines_open_idx on case_deadlines (due_at) where not met;
