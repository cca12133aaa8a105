import type { ReferralsEvent } from '@trm/contracts';
import type { Db } from '@trm/db';
import type { Decider } from '@trm/event-store';
import type { EventStore } from '@trm/event-store';
import type { OrgDirectory } from '@trm/platform';
import type { Vault } from '@trm/vault';
import type { CaseCommand, CaseState, OrganisationRef } from './domain/case.decider.js';
import type { ViewPolicy } from './http/case-views.js';
import type { ContactPointRef, RoutingFacts } from './domain/routing.js';

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
  /**
   * The contact point a notification goes to, as the registry describes it: the one named by
   * `addressedTo` (undefined when it is not registered), else the active central contact point of
   * `defaultAddresseeCountry`, else the home contact point (policy TRM_HOME_NCP). The decider
   * checks it may coordinate.
   */
  addresseeFor(routing: RoutingFacts, addressedTo: string | undefined): Promise<ContactPointRef | undefined>;
  /**
   * The child protection authority that joins a child's case (issue 17): the routing policy
   * (TRM_CHILD_PROTECTION_ROUTES) by the coordinating contact point's country and the county,
   * then by the country; undefined when no route applies or the authority routed to is not an
   * active child protection organisation (the coordinating contact point then chooses).
   */
  childProtectionFor(country: string, county: string | null | undefined): Promise<OrganisationRef | undefined>;
  /** Called after a command committed: wakes the relay without waiting for a poll. */
  committed(): void;
}
