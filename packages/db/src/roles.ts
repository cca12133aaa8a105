/**
 * One PostgreSQL role per service, each owning its own schema only. Every service reads the
 * others' `events` tables (no personal data; consumers read their sources there) through the group
 * role trm_event_readers, and the organisation registry through trm_registry_readers; the grants
 * themselves are made by the migrations that create those tables (they grant to the group roles
 * when these exist). Only referrals, which administers the registry, owns and writes it; only
 * statistics may create a schema (its rebuild works in a scratch schema).
 */
export const SERVICE_SCHEMAS = ['referrals', 'repatriation', 'proceedings', 'statistics', 'ledger'] as const;
export type ServiceSchema = (typeof SERVICE_SCHEMAS)[number];

export interface RolesSqlOptions {
  /** The database the services use (for the statistics role's CREATE). */
  database: string;
  /** Login role of each service (default trm_<service>). */
  roleOf?: (service: ServiceSchema) => string;
  /** SQL expression of each role's password: a literal in tests, a psql variable (:'name') in deployment. */
  passwordOf: (service: ServiceSchema) => string;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

export function postgresRolesSql(opts: RolesSqlOptions): string {
  const roleOf = opts.roleOf ?? ((s: ServiceSchema) => `trm_${s}`);
  const lines = [
    '-- Group roles: created once per cluster.',
    `do $roles$
begin
  if not exists (select 1 from pg_roles where rolname = 'trm_event_readers') then create role trm_event_readers nologin; end if;
  if not exists (select 1 from pg_roles where rolname = 'trm_registry_readers') then create role trm_registry_readers nologin; end if;
end
$roles$;`,
  ];
  for (const s of SERVICE_SCHEMAS) {
    lines.push(`create role ${ident(roleOf(s))} login password ${opts.passwordOf(s)} in role trm_event_readers, trm_registry_readers;`);
    lines.push(`create schema ${ident(s)} authorization ${ident(roleOf(s))};`);
  }
  lines.push(`create schema registry authorization ${ident(roleOf('referrals'))};`);
  lines.push(`grant connect on database ${ident(opts.database)} to ${SERVICE_SCHEMAS.map((s) => ident(roleOf(s))).join(', ')};`);
  lines.push(`grant create on database ${ident(opts.database)} to ${ident(roleOf('statistics'))};`);
  return `${lines.join('\n')}\n`;
}
