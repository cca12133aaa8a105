import type { FastifyInstance } from 'fastify';
import type { CountryCode } from '@trm/contracts';
import type { Db } from '@trm/db';
import { createEventStore, type EventStore } from '@trm/event-store';
import type { OrgDirectory } from '@trm/platform';
import type { Vault } from '@trm/vault';
import type { ReferralsContext } from './context.js';
import { DEFAULT_REFERRALS_POLICY, type ReferralsPolicy, createCaseDecider } from './domain/case.decider.js';
import { caseRoutes } from './http/case.routes.js';
import { caseCommandRoutes } from './http/case-command.routes.js';
import { caseTimelineRoutes } from './http/case-timeline.routes.js';
import { deadlineRoutes } from './http/deadline.routes.js';
import { registerReferralsProblems } from './problems.js';
import { REFERRALS_SCHEMA } from './constants.js';

export interface ReferralsOptions {
  db: Db;
  vault: Vault;
  orgs: OrgDirectory;
  store?: EventStore;
  schema?: string;
  policy?: Partial<ReferralsPolicy> & { homeNationalContactPoint?: string; reflectionWarningDays?: number; accessCoalesceSeconds?: number };
  clock?: () => Date;
  onCommitted?: () => void;
}

export function createReferralsContext(opts: ReferralsOptions): ReferralsContext {
  const schema = opts.schema ?? REFERRALS_SCHEMA;
  const policy: ReferralsPolicy = {
    acknowledgementDays: opts.policy?.acknowledgementDays ?? DEFAULT_REFERRALS_POLICY.acknowledgementDays,
    informationRequestDays: opts.policy?.informationRequestDays ?? DEFAULT_REFERRALS_POLICY.informationRequestDays,
    reflectionMaxDays: opts.policy?.reflectionMaxDays ?? DEFAULT_REFERRALS_POLICY.reflectionMaxDays,
  };
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
     * The central contact points of the victim's citizenship and of the country of
     * identification receive the notification; when neither country has one registered, the
     * home contact point (policy, ANITP) does, so no notification is ever addressed to nobody.
     */
    async contactPointsFor(citizenship: CountryCode, identification: CountryCode) {
      const ids = new Set<string>();
      for (const country of new Set([citizenship, identification])) {
        for (const org of await opts.orgs.nationalContactPoints(country)) {
          if (org.active && !org.parentId) ids.add(org.id);
        }
      }
      if (ids.size === 0) ids.add(home);
      return [...ids].sort();
    },
    committed: opts.onCommitted ?? (() => {}),
  };
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
