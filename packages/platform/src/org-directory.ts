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

  // Concurrent misses share one read (under load every request misses at once when the entry
  // expires); an invalidation during a read drops that read's answer from the cache.
  let generation = 0;
  let listing: Promise<Organisation[]> | undefined;
  const byIdLoading = new Map<string, Promise<Organisation | undefined>>();

  const list = async (): Promise<Organisation[]> => {
    if (all && fresh(all.at)) return all.orgs;
    if (listing && ttl > 0) return listing;
    const started = generation;
    const read = listOrganisations(db, schema).then(
      (orgs) => {
        if (started === generation) all = { at: Date.now(), orgs };
        return orgs;
      },
    );
    listing = read;
    try {
      return await read;
    } finally {
      if (listing === read) listing = undefined;
    }
  };

  return {
    async get(id) {
      const hit = byId.get(id);
      if (hit && fresh(hit.at)) return hit.org;
      const pending = ttl > 0 ? byIdLoading.get(id) : undefined;
      if (pending) return pending;
      const started = generation;
      const read = findOrganisation(db, schema, id).then((org) => {
        // Bounded: unknown ids come from verified tokens only, but an issuer bug must not grow this for ever.
        if (byId.size > 10_000) byId.clear();
        if (started === generation) byId.set(id, { at: Date.now(), org });
        return org;
      });
      byIdLoading.set(id, read);
      try {
        return await read;
      } finally {
        if (byIdLoading.get(id) === read) byIdLoading.delete(id);
      }
    },
    list,
    async nationalContactPoints(country) {
      return (await list()).filter((o) => o.type === 'national_contact_point' && o.active && o.country === country);
    },
    invalidate(id) {
      generation++;
      listing = undefined;
      if (id === undefined) byIdLoading.clear();
      else byIdLoading.delete(id);
      if (id === undefined) byId.clear();
      else byId.delete(id);
      all = undefined;
    },
  };
}
