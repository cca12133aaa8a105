import type { Db } from '@trm/db';
import type { Decider } from '@trm/event-store';
import type { ReleaseCommand, ReleaseEvent, ReleaseState } from './domain/release.decider.js';

export interface StatisticsPolicy {
  /** Smallest publishable number of cases (DOMAIN: 10). */
  k: number;
  /** Published counts are rounded to a multiple of this (DOMAIN: 5); 1 publishes exact counts. */
  roundingBase: number;
}

export interface StatisticsContext {
  db: Db;
  schema: string;
  policy: StatisticsPolicy;
  release: Decider<ReleaseCommand, ReleaseEvent, ReleaseState>;
  clock(): Date;
}
