import type { Kysely } from 'kysely';
import type { OrgDirectory, Organisation } from './identity.js';
import { findOrganisation, listOrganisations } from './organisation.repository.js';

export interface OrgDirectoryOptions {
  schema?: string;
  /**
   * How long an answer is reused. A deactivation takes effect in other processes within this
   * time (at once in the process that made it, which invalidates its cache).
   */
  cacheTtlMs?: number;
}

/** The registry as seen by authentication: read on every request, so cached briefly. */
export function createOrgDirectory(db: Kysely<any>, opts: OrgDirectoryOptions = {}): OrgDirectory {
  const schema = opts.schema ?? 'registry';
  const ttl = opts.cacheTtlMs ?? 5000;
  const byId = new Map<string, { at: number; org: Organisation | undefined }>();
  let all: { at: number; orgs: Organisation[] } | undefined;
  const fresh = (at: number) => Date.now() - at < ttl;

  const list = async (): Promise<Organisation[]> => {
    if (all && fresh(all.at)) return all.orgs;
    const orgs = await listOrganisations(db, schema);
    all = { at: Date.now(), orgs };
    return orgs;
  };

  return {
    async get(id) {
      const hit = byId.get(id);
      if (hit && fresh(hit.at)) return hit.org;
      const org = await findOrganisation(db, schema, id);
      // Bounded: unknown ids come from verified tokens only, but an issuer bug must not grow this for ever.
      if (byId.size > 10_000) byId.clear();
      byId.set(id, { at: Date.now(), org });
      return org;
    },
    list,
    async nationalContactPoints(country) {
      return (await list()).filter((o) => o.type === 'national_contact_point' && o.active && o.country === country);
    },
    invalidate(id) {
      if (id === undefined) byId.clear();
      else byId.delete(id);
      all = undefined;
    },
  };
}
