import type { CountryCode, ReferralsEvent } from '@trm/contracts';
import type { Db } from '@trm/db';
import type { Decider } from '@trm/event-store';
import type { EventStore } from '@trm/event-store';
import type { OrgDirectory } from '@trm/platform';
import type { Vault } from '@trm/vault';
import type { CaseCommand, CaseState } from './domain/case.decider.js';
import type { ViewPolicy } from './http/case-views.js';

/** Everything the referrals routes need, built once per process by `createReferralsContext`. */
export interface ReferralsContext {
  db: Db;
  schema: string;
  store: EventStore;
  decider: Decider<CaseCommand, ReferralsEvent, CaseState>;
  vault: Vault;
  orgs: OrgDirectory;
  clock(): Date;
  views: ViewPolicy;
  /** Policy TRM_ACCESS_COALESCE_SECONDS: repeated personal-data reads by one actor within it are recorded as one event (0: one event per read). */
  accessCoalesceSeconds: number;
  /** Central contact points that receive a notification (see `contactPointsFor`). */
  contactPointsFor(citizenship: CountryCode, countryOfIdentification: CountryCode): Promise<string[]>;
  /** Called after a command committed: wakes the relay without waiting for a poll. */
  committed(): void;
}
