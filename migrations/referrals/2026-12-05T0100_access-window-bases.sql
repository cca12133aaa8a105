-- Issue 13, finding 3: every read of personal data names its legal basis. A window counts the
-- repeats of one read: same actor, purpose and fields, and now the same legal bases and withheld
-- fields too, so the event that records the repeats names the bases they were read on. `bases`
-- is canonical JSON: {"legalBases":[{"basis":…,"fields":[…]}],"withheldFields":[…]} (names only,
-- never values). Rows from before (no basis recorded) keep the empty lists.
alter table personal_data_access_windows add column bases text not null default '{"legalBases":[],"withheldFields":[]}';
alter table personal_data_access_windows drop constraint personal_data_access_windows_pkey;
alter table personal_data_access_windows add primary key (case_id, organisation_id, actor, purpose, fields, bases);
