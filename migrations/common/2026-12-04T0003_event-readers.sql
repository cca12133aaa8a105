-- Least privilege with one PostgreSQL role per service (deploy/postgres/roles.sql): the events
-- table holds no personal data and is what other services read as their source (consumers fill
-- gaps and check messages against it; statistics rebuilds and the ledger reconciles from it), so
-- the group role trm_event_readers may read it, and nothing else of this schema (not the vault, the
-- inbox or the read models). Without that role (one superuser, embedded PGlite) nothing is granted.
do $grant$
begin
  if exists (select 1 from pg_roles where rolname = 'trm_event_readers') then
    execute format('grant usage on schema %I to trm_event_readers', current_schema());
    execute format('grant select on table %I.events to trm_event_readers', current_schema());
  end if;
end
$grant$;
