import { type ServiceModule, serviceSettings } from '@trm/runtime';
import { z } from 'zod';
import { STATISTICS_SCHEMA } from './constants.js';
import { startFactsConsumer } from './consumers/on-any-event.consumer.js';
import { createReleaseDecider } from './domain/release.decider.js';
import { statisticsService } from './service.js';

/** Policy settings of the statistics service (DOMAIN.md marks them *policy*). */
export const StatisticsEnv = z.object({
  /** Cells (and filtered populations) with fewer cases than this are not published. */
  TRM_STATS_K: z.coerce.number().int().min(2).default(10),
  /** Published counts are rounded to a multiple of this; 1 publishes exact counts. */
  TRM_STATS_ROUNDING_BASE: z.coerce.number().int().min(1).default(5),
  /** Most events folded in one transaction by the live consumer (batches form under load only). */
  STATISTICS_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(200),
});

export const statisticsModule: ServiceModule = {
  name: 'statistics',
  schema: STATISTICS_SCHEMA,
  defaultPort: 8084,
  async mount(host) {
    const settings = serviceSettings('statistics', StatisticsEnv, host.env);
    const policy = { k: settings.TRM_STATS_K, roundingBase: settings.TRM_STATS_ROUNDING_BASE };
    await host.app.register(statisticsService, {
      db: host.db,
      schema: STATISTICS_SCHEMA,
      policy,
      release: createReleaseDecider({ k: policy.k }),
      clock: host.clock,
    });
    const consumer = await startFactsConsumer({
      db: host.db,
      schema: STATISTICS_SCHEMA,
      bus: host.bus,
      batchSize: settings.STATISTICS_BATCH_SIZE,
      source: host.source,
      logger: host.app.log,
      metrics: host.metrics,
    });
    return { consumers: [consumer] };
  },
};
