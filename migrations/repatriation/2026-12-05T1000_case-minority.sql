-- Why a case is a child's (issue 17), learnt from referrals: presumed (age unknown or uncertain:
-- a child until child protection assesses the age), declared, or assessed (AgeAssessed, which
-- may also find an adult). Null: read from the age facts as before.
alter table case_facts add column minor_basis text;
