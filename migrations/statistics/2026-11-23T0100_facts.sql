-- Fact tables of the statistics service. Built only from events: pseudonymous ids and closed
-- categories (enums validated before insert), never personal data and never free text.
-- Unqualified: applied with search_path = the statistics schema; the rebuild copies their shape
-- with CREATE TABLE … (LIKE … INCLUDING ALL), so keep every constraint on the tables themselves.

-- One row per case, from referrals' events. Dates are the events' own, never now(), so a
-- rebuild from the same events gives the same rows.
create table case_facts (
  case_id text primary key,
  notified_at timestamptz not null,
  year integer not null,
  month integer not null check (month between 1 and 12),
  sex text not null,
  age_band text not null,
  minor boolean not null,
  citizenship text not null,
  country_of_exploitation text not null,
  country_of_identification text not null,
  cross_border boolean not null,
  situation text not null,
  identifying_org_type text not null,
  -- The first form listed: tables by form stay additive (one person, one cell).
  primary_form text not null,
  regional_centre text not null default 'unassigned',
  acknowledgement_due_at timestamptz not null,
  acknowledged_at timestamptz,
  acknowledged_late boolean,
  victim_status text,
  closed_reason text
);

create table referral_facts (
  referral_id text primary key,
  case_id text not null,
  service text not null,
  made_at timestamptz not null,
  year integer not null,
  outcome text not null default 'pending' check (outcome in ('pending', 'accepted', 'declined')),
  delivered boolean not null default false,
  closed boolean not null default false
);

-- One row per AssistanceDelivered; amounts as numeric, never float.
create table assistance_facts (
  event_id text primary key,
  case_id text not null,
  referral_id text,
  service text,
  year integer not null,
  amount numeric(17, 2) not null check (amount >= 0),
  currency text not null
);

create table return_facts (
  return_id text primary key,
  case_id text not null,
  requested_at timestamptz not null,
  year integer not null,
  planned_departure_date date not null,
  -- Days from the request reaching the contact point to the planned departure (last plan wins).
  notice_days integer not null,
  late_notification boolean not null default false,
  departed boolean not null default false,
  arrived_at timestamptz,
  days_to_arrival integer,
  cancelled boolean not null default false
);

-- One row per criminal case linked to a TRM case.
create table proceeding_facts (
  criminal_case_id text primary key,
  case_id text not null,
  linked_at timestamptz not null,
  year integer not null,
  offence text not null,
  -- Last recorded outcome: conviction_custodial, conviction_suspended, acquittal, dismissed,
  -- statute_of_limitations_expired; null while pending.
  outcome text
);

create table compensation_facts (
  claim_id text primary key,
  case_id text not null,
  year integer not null,
  decision text not null,
  amount numeric(17, 2) not null check (amount >= 0),
  currency text not null,
  paid boolean not null
);

-- Duties with a deadline (informing the victim in proceedings): late when fulfilled after it.
create table duty_facts (
  duty_id text primary key,
  case_id text not null,
  service text not null,
  kind text not null,
  year integer not null,
  due_at timestamptz not null,
  fulfilled boolean not null default false,
  fulfilled_late boolean not null default false
);

-- "Complete up to": per source service, how many events were applied and the last one's position.
create table watermarks (
  service text primary key,
  events_applied bigint not null,
  last_global_position bigint not null,
  last_recorded_at timestamptz not null
);

-- Events of a known type whose data did not match what statistics expects: counted and visible,
-- never silently dropped. Holds the JSON paths that failed, not the values.
create table unparsed_events (
  event_id text primary key,
  service text not null,
  event_type text not null,
  issues text not null
);
