import type { Db } from '@trm/db';
import type { Decider } from '@trm/event-store';
import type { LinkedAuditor, TierPolicy } from './domain/disclosure.js';
import type { ReleaseCommand, ReleaseEvent, ReleaseState } from './domain/release.decider.js';
import type { Release } from './repositories/releases.repository.js';

export type Tier = 'public' | 'internal';

export interface StatisticsPolicy {
  /** Public tier (statistics consumers, everyone but the central contact point's analysts): DOMAIN k = 10, base 5. */
  tiers: Record<Tier, TierPolicy>;
  /** A scheduled release is made when the latest is older than this (policy TRM_STATS_RELEASE_EVERY, a day). */
  releaseEveryMs: number;
  /** On-demand releases allowed in any 24 hours (policy TRM_STATS_RELEASES_PER_DAY, 24). */
  onDemandPerDay: number;
  /** Country whose central contact point makes releases on demand and whose analysts read the internal tier. */
  homeCountry: string;
}

export interface StatisticsContext {
  db: Db;
  schema: string;
  policy: StatisticsPolicy;
  release: Decider<ReleaseCommand, ReleaseEvent, ReleaseState>;
  clock(): Date;
  /** The LP audit that repairs what the per-table protection leaves pinned (policy TRM_STATS_LP_AUDIT). */
  auditor?: LinkedAuditor | undefined;
  /** The latest release, once read (one at a time). */
  cache: { release?: Release | undefined };
}
