import type { EventSource } from '@trm/bus';
import type { ProceedingsEvent } from '@trm/contracts';
import type { Db } from '@trm/db';
import type { Decider, EventStore } from '@trm/event-store';
import type { OrgDirectory } from '@trm/platform';
import type { Vault } from '@trm/vault';
import type { ProceedingsCommand, ProceedingsPolicy, ProceedingsState } from './domain/proceedings.decider.js';

/** Everything the proceedings routes need, built once by the module. */
export interface ProceedingsContext {
  db: Db;
  schema: string;
  store: EventStore;
  decider: Decider<ProceedingsCommand, ProceedingsEvent, ProceedingsState>;
  policy: ProceedingsPolicy;
  /** Keeps criminal case references, which may identify the victim indirectly. */
  vault: Vault;
  orgs: OrgDirectory;
  /**
   * Where the case facts come from: referrals' events (read through the consumer's source) and
   * the consumer that applies them. Personal data is served only while the facts are current
   * (`http/facts-currency.ts`), waiting at most `waitMs` for them to catch up.
   */
  facts: { source: EventSource; consumer: string; waitMs: number };
  clock(): Date;
  committed(): void;
}

export const PROCEEDINGS_SCHEMA = 'proceedings';
