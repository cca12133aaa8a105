-- Who gave the consent to return (issue 17): for a child only the guardian's or a parent's counts.
-- Null: not recorded (consents learnt before this column), or no consent in force.
alter table case_facts add column return_consent_given_by text;
