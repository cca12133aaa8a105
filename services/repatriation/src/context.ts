import type { EventSource } from '@trm/bus';
import type { RepatriationEvent } from '@trm/contracts';
import type { Db } from '@trm/db';
import type { Decider, EventStore } from '@trm/event-store';
import type { OrgDirectory } from '@trm/platform';
import type { RepatriationPolicy, ReturnCommand, ReturnState } from './domain/return.decider.js';

/** Everything the repatriation routes need, built once per process by the module. */
export interface RepatriationContext {
  db: Db;
  schema: string;
  /**
   * Where the case facts come from (referrals' events, through the consumer's source): the
   * departure gate compares referrals' record of a case stream with what repatriation applied.
   */
  factsSource: EventSource;
  store: EventStore;
  decider: Decider<ReturnCommand, RepatriationEvent, ReturnState>;
  policy: RepatriationPolicy;
  orgs: OrgDirectory;
  clock(): Date;
  /** Called after a command committed: wakes the relay without waiting for a poll. */
  committed(): void;
}
