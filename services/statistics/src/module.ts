import { type ServiceModule, serviceSettings } from '@trm/runtime';
import { z } from 'zod';
import { STATISTICS_SCHEMA } from './constants.js';
import type { StatisticsContext } from './context.js';
import { startFactsConsumer } from './consumers/on-any-event.consumer.js';
import { createReleaseDecider } from './domain/release.decider.js';
import { makeRelease } from './handlers/figure.handler.js';
import { latestReleaseMeta } from './repositories/releases.repository.js';
import { statisticsService } from './service.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const duration = (def: string) =>
  z
    .string()
    .regex(/^\d+(s|m|h|d)$/, 'a number followed by s, m, h or d (e.g. 1d)')
    .default(def)
    .transform((v) => Number(v.slice(0, -1)) * UNIT_MS[v.slice(-1) as keyof typeof UNIT_MS]);

/** Policy settings of the statistics service (DOMAIN.md marks them *policy*). */
export const StatisticsEnv = z.object({
  /** Public tier: cells, margins and filtered populations with fewer cases than this are not published. */
  TRM_STATS_K: z.coerce.number().int().min(2).default(10),
  /** Public tier: published counts are rounded to a multiple of this; 1 publishes exact counts. */
  TRM_STATS_ROUNDING_BASE: z.coerce.number().int().min(1).default(5),
  /** Internal tier (analysts of the home country's central contact point): k. Counts exact. */
  TRM_STATS_INTERNAL_K: z.coerce.number().int().min(2).default(3),
  /** Public tier: amounts rounded to a multiple of this many currency units (internal: whole units). */
  TRM_STATS_AMOUNT_ROUNDING: z.coerce.number().int().min(1).default(100),
  /** Dominance: an amount is not published when all but the two largest contributions sum to less than p % of the largest. */
  TRM_STATS_DOMINANCE_P: z.coerce.number().min(0).max(100).default(25),
  /** A scheduled release is made when the latest one is older than this (one at start-up when none exists). */
  TRM_STATS_RELEASE_EVERY: duration('1d'),
  /** On-demand releases allowed in any 24 hours. */
  TRM_STATS_RELEASES_PER_DAY: z.coerce.number().int().min(0).default(24),
  /** Country of the contact point whose central organisation makes releases on demand and reads the internal tier. */
  TRM_STATS_HOME_COUNTRY: z.string().regex(/^[A-Z]{2}$/).default('RO'),
  /** Audit every release with the attacker's linear program (HiGHS) and suppress what it finds pinned across linked tables. */
  TRM_STATS_LP_AUDIT: z.enum(['true', 'false']).default('true'),
  /** Most events the live consumer folds in one transaction (batches form under load only). */
  STATISTICS_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(200),
});

export const statisticsModule: ServiceModule = {
  name: 'statistics',
  schema: STATISTICS_SCHEMA,
  defaultPort: 8084,
  async mount(host) {
    const settings = serviceSettings('statistics', StatisticsEnv, host.env);
    const ctx: StatisticsContext = {
      db: host.db,
      schema: STATISTICS_SCHEMA,
      policy: {
        tiers: {
          public: { tier: 'public', k: settings.TRM_STATS_K, roundingBase: settings.TRM_STATS_ROUNDING_BASE, amountRoundingBase: settings.TRM_STATS_AMOUNT_ROUNDING, p: settings.TRM_STATS_DOMINANCE_P },
          internal: { tier: 'internal', k: settings.TRM_STATS_INTERNAL_K, roundingBase: 1, amountRoundingBase: 1, p: settings.TRM_STATS_DOMINANCE_P },
        },
        releaseEveryMs: settings.TRM_STATS_RELEASE_EVERY,
        onDemandPerDay: settings.TRM_STATS_RELEASES_PER_DAY,
        homeCountry: settings.TRM_STATS_HOME_COUNTRY,
      },
      release: createReleaseDecider({ k: settings.TRM_STATS_K }),
      clock: host.clock,
      cache: {},
      auditor: settings.TRM_STATS_LP_AUDIT === 'true' ? (await import('./audit/lp-audit.js')).auditRelease : undefined,
    };
    await host.app.register(statisticsService, ctx);
    const consumer = await startFactsConsumer({
      db: host.db,
      schema: STATISTICS_SCHEMA,
      bus: host.bus,
      batchSize: settings.STATISTICS_BATCH_SIZE,
      source: host.source,
      logger: host.app.log,
      metrics: host.metrics,
    });
    // Scheduled releases: one at start-up when none exists, then whenever the latest is older
    // than the policy period. Checked at most every minute; one release at a time (advisory lock).
    let running: Promise<void> | undefined;
    const tick = () => {
      running ??= (async () => {
        try {
          const latest = await latestReleaseMeta(ctx.db, ctx.schema);
          if (!latest || ctx.clock().getTime() - Date.parse(latest.createdAt) >= ctx.policy.releaseEveryMs) {
            const { meta, timing } = await makeRelease(ctx, 'scheduled', null);
            host.app.log.info({ releaseId: meta.releaseId, ...timing }, 'statistics release made');
          }
        } catch (err) {
          host.app.log.error({ err: err instanceof Error ? err.message : 'unknown' }, 'statistics release failed');
        } finally {
          running = undefined;
        }
      })();
    };
    const first = setTimeout(tick, 0);
    const timer = setInterval(tick, Math.min(60_000, Math.max(1_000, ctx.policy.releaseEveryMs / 4)));
    timer.unref();
    return {
      consumers: [consumer],
      stop: async () => {
        clearTimeout(first);
        clearInterval(timer);
        await running;
      },
    };
  },
};
