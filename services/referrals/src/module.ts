import { type ServiceModule, loadWebhookSigningKey, registerWebhookRoutes, serviceSettings, startWebhookOutbox } from '@trm/runtime';
import { registryRoutes } from '@trm/platform';
import { createVault } from '@trm/vault';
import { z } from 'zod';
import { REFERRALS_SCHEMA } from './constants.js';
import { startHandedOverConsumer } from './consumers/on-handed-over-to-assistance.consumer.js';
import { createDeadlineScheduler } from './scheduler/deadline.scheduler.js';
import { createReferralsContext, parseChildProtectionRoutes, referralsService } from './service.js';
import { referralsWebhookNotifier } from './webhooks.js';

/** The services whose schemas keep a webhook outbox (their deliveries are served here). */
export const WEBHOOK_SOURCES = [
  { service: 'referrals', schema: 'referrals' },
  { service: 'repatriation', schema: 'repatriation' },
] as const;

/** Policy settings of the referrals service (DOMAIN.md marks them *policy*). */
export const ReferralsEnv = z.object({
  /** Days the national contact point has to acknowledge a notification. */
  TRM_ACK_DAYS: z.coerce.number().positive().default(2),
  /** Central contact point that receives notifications when no contact point of the victim's
   * citizenship or of the country of identification is registered. */
  TRM_HOME_NCP: z.string().min(1).default('anitp'),
  /** Days an organisation has to answer a request for information. */
  TRM_INFO_REQUEST_DAYS: z.coerce.number().positive().default(7),
  /** Longest reflection period (Romanian law for foreign victims); the 30-day floor is the Convention's. */
  TRM_REFLECTION_MAX_DAYS: z.coerce.number().int().min(30).default(90),
  /** A reflection period shows as ending soon this many days before its end. */
  TRM_REFLECTION_WARNING_DAYS: z.coerce.number().int().min(0).default(5),
  /** How often the deadline scheduler looks for missed deadlines (and records the repeated reads of ended access windows). */
  TRM_DEADLINE_SCAN_SECONDS: z.coerce.number().positive().default(60),
  /** Repeated personal-data reads by the same actor within this many seconds are recorded as one event with their count (0: one event per read). */
  TRM_ACCESS_COALESCE_SECONDS: z.coerce.number().int().min(0).default(300),
  /** Hours child protection has to acknowledge a child's case it was routed to (issue 17). */
  TRM_CHILD_PROTECTION_HOURS: z.coerce.number().positive().default(24),
  /** Child protection routing: `<country>[-<county>]=<organisation id>`, comma separated (county: ISO 3166-2 suffix). */
  TRM_CHILD_PROTECTION_ROUTES: z.string().default('RO-B=dgaspc-bucharest,RO=dgaspc-bucharest').transform((t, c) => {
    try {
      return parseChildProtectionRoutes(t);
    } catch (err) {
      c.addIssue({ code: 'custom', message: err instanceof Error ? err.message : 'invalid routes' });
      return z.NEVER;
    }
  }),
  /** Days the notifier may correct what it submitted (issue 18). */
  TRM_NOTIFIER_CORRECTION_DAYS: z.coerce.number().int().min(0).default(30),
});

export const referralsModule: ServiceModule = {
  name: 'referrals',
  schema: REFERRALS_SCHEMA,
  defaultPort: 8081,
  keepsVault: true,
  async mount(host) {
    const settings = serviceSettings('referrals', ReferralsEnv, host.env);
    const ctx = createReferralsContext({
      db: host.db,
      store: host.store,
      orgs: host.orgs,
      vault: createVault({ schema: REFERRALS_SCHEMA, masterKeys: host.masterKeys }),
      policy: {
        acknowledgementDays: settings.TRM_ACK_DAYS,
        homeNationalContactPoint: settings.TRM_HOME_NCP,
        informationRequestDays: settings.TRM_INFO_REQUEST_DAYS,
        reflectionMaxDays: settings.TRM_REFLECTION_MAX_DAYS,
        reflectionWarningDays: settings.TRM_REFLECTION_WARNING_DAYS,
        accessCoalesceSeconds: settings.TRM_ACCESS_COALESCE_SECONDS,
        childProtectionHours: settings.TRM_CHILD_PROTECTION_HOURS,
        childProtectionRoutes: settings.TRM_CHILD_PROTECTION_ROUTES,
        notifierCorrectionDays: settings.TRM_NOTIFIER_CORRECTION_DAYS,
      },
      clock: host.clock,
      onCommitted: host.committed,
    });
    // The national contact point's service keeps the organisation registry's admin routes.
    await host.app.register(registryRoutes, { db: host.db, schema: 'registry', directory: host.orgs });
    await host.app.register(referralsService, ctx);
    const consumer = await startHandedOverConsumer(ctx, { bus: host.bus, source: host.source, logger: host.app.log, metrics: host.metrics });
    // Webhooks: the subscriptions (registry schema) and the signing key's JWKS are served here;
    // this service's own events are notified from its outbox.
    const webhookKey = await loadWebhookSigningKey(host.env);
    await registerWebhookRoutes(host.app, { db: host.db, env: host.env, key: webhookKey, sources: WEBHOOK_SOURCES });
    const webhooks = await startWebhookOutbox(host, { service: 'referrals', schema: REFERRALS_SCHEMA, notifier: referralsWebhookNotifier(REFERRALS_SCHEMA), key: webhookKey });
    const scheduler = createDeadlineScheduler(ctx, {
      intervalMs: settings.TRM_DEADLINE_SCAN_SECONDS * 1000,
      onError: (err) => host.app.log.error({ err: err instanceof Error ? err.message : 'unknown' }, 'deadline scan failed'),
    });
    scheduler.start();
    return { consumers: [consumer, webhooks.consumer], stop: async () => { await scheduler.stop(); await webhooks.stop(); } };
  },
};
