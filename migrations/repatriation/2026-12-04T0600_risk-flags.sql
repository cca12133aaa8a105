-- Threat and re-trafficking flags raised in referrals (RiskFlagRaised, learnt from the bus): a flag
-- raised after the origin's latest risk assessment blocks departure until the origin reassesses.
create table case_risk_flags (
  case_id uuid not null,
  kind text not null,
  level text not null,
  raised_at timestamptz not null,
  raised_by text not null,
  primary key (case_id, kind, raised_at)
);
