import { startConsumer } from '@trm/bus';
import { type ServiceModule, serviceSettings } from '@trm/runtime';
import { createVault } from '@trm/vault';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { onReferralsEvent } from './consumers/on-referrals-event.consumer.js';
import { PROCEEDINGS_SCHEMA, type ProceedingsContext } from './context.js';
import { createProceedingsDecider } from './domain/proceedings.decider.js';
import { proceedingsRoutes } from './http/proceedings.routes.js';
import { registerProceedingsProblems } from './problems.js';

/** Policy settings of the proceedings service (DOMAIN.md marks them *policy*). */
const ProceedingsEnv = z.object({
  /** Days within which the victim must be informed of a stage change, hearing or outcome. */
  PROCEEDINGS_INFORM_DAYS: z.coerce.number().positive().default(5),
});

export const PROCEEDINGS_CONSUMER = 'proceedings-case-facts';

export const proceedingsModule: ServiceModule = {
  name: 'proceedings',
  schema: PROCEEDINGS_SCHEMA,
  defaultPort: 8083,
  keepsVault: true,
  async mount(host) {
    const settings = serviceSettings('proceedings', ProceedingsEnv, host.env);
    const policy = { informDays: settings.PROCEEDINGS_INFORM_DAYS };
    const ctx: ProceedingsContext = {
      db: host.db,
      schema: PROCEEDINGS_SCHEMA,
      store: host.store,
      decider: createProceedingsDecider(policy),
      policy,
      vault: createVault({ schema: PROCEEDINGS_SCHEMA, masterKeys: host.masterKeys }),
      orgs: host.orgs,
      facts: { source: host.source, consumer: PROCEEDINGS_CONSUMER, waitMs: 2000 },
      clock: host.clock,
      committed: host.committed,
    };
    registerProceedingsProblems();
    await host.app.register(async (app: FastifyInstance) => proceedingsRoutes(app, ctx));
    // Cases are learnt only from referrals' events, never from its database.
    const consumer = await startConsumer({
      db: host.db,
      schema: PROCEEDINGS_SCHEMA,
      name: PROCEEDINGS_CONSUMER,
      bus: host.bus,
      filterSubject: `${host.bus.subjectsPrefix}.referrals.>`,
      handle: (tx, envelope) => onReferralsEvent(tx, PROCEEDINGS_SCHEMA, envelope, ctx.vault),
      source: host.source,
      logger: host.app.log,
      metrics: host.metrics,
    });
    return { consumers: [consumer] };
  },
};
