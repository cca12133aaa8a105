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
  /** Central contact points that receive a notification (see `contactPointsFor`). */
  contactPointsFor(citizenship: CountryCode, countryOfIdentification: CountryCode): Promise<string[]>;
  /** Called after a command committed: wakes the relay without waiting for a poll. */
  committed(): void;
}
