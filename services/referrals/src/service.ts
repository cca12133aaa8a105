import type { FastifyInstance } from 'fastify';
import type { Db } from '@trm/db';
import { createEventStore, type EventStore } from '@trm/event-store';
import type { OrgDirectory, Organisation } from '@trm/platform';
import type { Vault } from '@trm/vault';
import type { ReferralsContext } from './context.js';
import { DEFAULT_REFERRALS_POLICY, type ReferralsPolicy, createCaseDecider } from './domain/case.decider.js';
import { caseRoutes } from './http/case.routes.js';
import { caseCommandRoutes } from './http/case-command.routes.js';
import { caseTimelineRoutes } from './http/case-timeline.routes.js';
import { deadlineRoutes } from './http/deadline.routes.js';
import { registerReferralsProblems } from './problems.js';
import { REFERRALS_SCHEMA } from './constants.js';
import { type ContactPointRef, defaultAddresseeCountry } from './domain/routing.js';

export interface ReferralsOptions {
  db: Db;
  vault: Vault;
  orgs: OrgDirectory;
  store?: EventStore;
  schema?: string;
  policy?: Partial<ReferralsPolicy> & {
    homeNationalContactPoint?: string;
    reflectionWarningDays?: number;
    accessCoalesceSeconds?: number;
    /** Child protection routing (issue 17): `<country>-<county>` or `<country>` → organisation id. */
    childProtectionRoutes?: Record<string, string>;
  };
  clock?: () => Date;
  onCommitted?: () => void;
}

export function createReferralsContext(opts: ReferralsOptions): ReferralsContext {
  const schema = opts.schema ?? REFERRALS_SCHEMA;
  const policy: ReferralsPolicy = {
    acknowledgementDays: opts.policy?.acknowledgementDays ?? DEFAULT_REFERRALS_POLICY.acknowledgementDays,
    informationRequestDays: opts.policy?.informationRequestDays ?? DEFAULT_REFERRALS_POLICY.informationRequestDays,
    reflectionMaxDays: opts.policy?.reflectionMaxDays ?? DEFAULT_REFERRALS_POLICY.reflectionMaxDays,
    ...(opts.policy?.childProtectionHours !== undefined ? { childProtectionHours: opts.policy.childProtectionHours } : {}),
    ...(opts.policy?.notifierCorrectionDays !== undefined ? { notifierCorrectionDays: opts.policy.notifierCorrectionDays } : {}),
  };
  const cpRoutes = opts.policy?.childProtectionRoutes ?? DEFAULT_CHILD_PROTECTION_ROUTES;
  const home = opts.policy?.homeNationalContactPoint ?? 'anitp';
  return {
    db: opts.db,
    schema,
    store: opts.store ?? createEventStore({ schema }),
    decider: createCaseDecider(policy),
    vault: opts.vault,
    orgs: opts.orgs,
    clock: opts.clock ?? (() => new Date()),
    views: { reflectionWarningDays: opts.policy?.reflectionWarningDays ?? 5 },
    accessCoalesceSeconds: opts.policy?.accessCoalesceSeconds ?? 300,
    /**
     * Routing: the contact point named by the notification, else the central contact point of
     * `defaultAddresseeCountry` (the victim's citizenship for a victim identified abroad, the
     * country of identification for a foreign victim identified there); when that country has
     * none registered, the home contact point (policy, ANITP), so no notification is addressed to
     * nobody. Only that contact point coordinates: no other is added by itself (issue 13, finding 3).
     */
    async addresseeFor(routing, addressedTo) {
      const ref = (o: Organisation): ContactPointRef => ({ id: o.id, type: o.type, country: o.country, parentOrgId: o.parentId, active: o.active });
      if (addressedTo !== undefined) {
        const named = await opts.orgs.get(addressedTo);
        return named ? ref(named) : undefined;
      }
      const country = defaultAddresseeCountry(routing);
      const central = (await opts.orgs.nationalContactPoints(country)).filter((o) => o.active && !o.parentId).sort((a, b) => (a.id < b.id ? -1 : 1));
      if (central[0]) return ref(central[0]);
      const fallback = await opts.orgs.get(home);
      return fallback ? ref(fallback) : { id: home, type: 'national_contact_point', country: '', parentOrgId: null, active: false };
    },
    async childProtectionFor(country, county) {
      const id = (county ? cpRoutes[`${country}-${county}`] : undefined) ?? cpRoutes[country];
      if (!id) return undefined;
      const o = await opts.orgs.get(id);
      if (!o || !o.active || o.type !== 'child_protection') return undefined;
      return { id: o.id, type: o.type, active: o.active, country: o.country, parentOrgId: o.parentId };
    },
    committed: opts.onCommitted ?? (() => {}),
  };
}

/**
 * Child protection routing by default (policy TRM_CHILD_PROTECTION_ROUTES): the demo registry's
 * DGASPC Bucharest for Bucharest (RO-B) and, until a deployment names one per county, for
 * Romania. A deployment sets the whole table; a case with no route is the contact point's choice.
 */
export const DEFAULT_CHILD_PROTECTION_ROUTES: Record<string, string> = { 'RO-B': 'dgaspc-bucharest', RO: 'dgaspc-bucharest' };

/** `RO-B=dgaspc-bucharest,RO-CJ=dgaspc-cluj,RO=dgaspc-bucharest` as a routing table (empty string: no routes). */
export function parseChildProtectionRoutes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([A-Z]{2})(?:-([A-Z0-9]{1,3}))?=([A-Za-z0-9._-]{1,63})$/.exec(part);
    if (!m) throw new Error(`TRM_CHILD_PROTECTION_ROUTES: '${part}' is not <country>[-<county>]=<organisation id>`);
    out[m[2] ? `${m[1]}-${m[2]}` : m[1]!] = m[3]!;
  }
  return out;
}

/** The referrals routes as a Fastify plugin, for the embedded host and the service's own main. */
export async function referralsService(app: FastifyInstance, ctx: ReferralsContext): Promise<void> {
  registerReferralsProblems();
  await caseRoutes(app, ctx);
  await caseCommandRoutes(app, ctx);
  await caseTimelineRoutes(app, ctx);
  await deadlineRoutes(app, ctx);
}
export { referralsModule } from './module.js';
