-- Every service reads the organisation registry; only the registry's owner (the referrals
-- service, which administers it) writes it. With one PostgreSQL role per service
-- (deploy/postgres/roles.sql) the group role trm_registry_readers may read the organisations and
-- the migration bookkeeping (so other services' start-up finds nothing to migrate here).
do $grant$
begin
  if exists (select 1 from pg_roles where rolname = 'trm_registry_readers') then
    execute format('grant usage on schema %I to trm_registry_readers', current_schema());
    execute format('grant select on table %I.organisations to trm_registry_readers', current_schema());
    execute format('grant select on all tables in schema %I to trm_registry_readers', current_schema());
    execute format('revoke select on table %I.idempotency_keys from trm_registry_readers', current_schema());
  end if;
end
$grant$;
