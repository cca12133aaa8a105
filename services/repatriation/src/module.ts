import { type ServiceModule, serviceSettings, startWebhookOutbox } from '@trm/runtime';
import { z } from 'zod';
import { startCaseFactsConsumer } from './consumers/on-referrals-event.consumer.js';
import { REPATRIATION_SCHEMA } from './constants.js';
import { createReturnDecider } from './domain/return.decider.js';
import { repatriationService } from './service.js';
import { repatriationWebhookNotifier } from './webhooks.js';

const FollowUpDays = z
  .string()
  .regex(/^\d{1,4}(,\d{1,4})*$/, 'comma-separated whole days, e.g. 30,90,180')
  .transform((s) => s.split(',').map(Number))
  .refine((days) => days.every((d) => d > 0) && new Set(days).size === days.length, 'positive days, each once');

/** Policy settings of the repatriation service (DOMAIN.md marks them *policy*). */
export const RepatriationEnv = z.object({
  /** Days of notice before departure, counted from when the request reached the national contact point. */
  REPATRIATION_NOTICE_DAYS: z.coerce.number().int().min(0).default(10),
  /** Days the national contact point has to acknowledge a return request. */
  REPATRIATION_ACK_DAYS: z.coerce.number().positive().default(2),
  /** Follow-ups after arrival, in days. */
  REPATRIATION_FOLLOW_UP_DAYS: FollowUpDays.default([30, 90, 180]),
});

export const repatriationModule: ServiceModule = {
  name: 'repatriation',
  schema: REPATRIATION_SCHEMA,
  defaultPort: 8082,
  async mount(host) {
    const settings = serviceSettings('repatriation', RepatriationEnv, host.env);
    const policy = {
      noticeDays: settings.REPATRIATION_NOTICE_DAYS,
      acknowledgementDays: settings.REPATRIATION_ACK_DAYS,
      followUpDays: settings.REPATRIATION_FOLLOW_UP_DAYS,
    };
    const decider = createReturnDecider(policy);
    await host.app.register(repatriationService, {
      db: host.db,
      schema: REPATRIATION_SCHEMA,
      factsSource: host.source,
      store: host.store,
      decider,
      policy,
      orgs: host.orgs,
      clock: host.clock,
      committed: host.committed,
    });
    const consumer = await startCaseFactsConsumer({
      db: host.db,
      schema: REPATRIATION_SCHEMA,
      bus: host.bus,
      source: host.source,
      logger: host.app.log,
      metrics: host.metrics,
      commands: { store: host.store, decider, clock: host.clock },
    });
    // Webhooks: this service's own events, notified from its outbox (subscriptions: referrals' /v1/webhooks).
    const webhooks = await startWebhookOutbox(host, { service: 'repatriation', schema: REPATRIATION_SCHEMA, notifier: repatriationWebhookNotifier(REPATRIATION_SCHEMA) });
    return { consumers: [consumer, webhooks.consumer], stop: () => webhooks.stop() };
  },
};
