import { type Bus, type EventSource, type Logger, type Subscription, startConsumer } from '@trm/bus';
import {
  CaseNotifiedData,
  ConsentRecordedData,
  ConsentWithdrawnData,
  type EventEnvelope,
  NotificationAcknowledgedData,
  ParticipantAddedData,
  ParticipantRemovedData,
} from '@trm/contracts';
import type { Db } from '@trm/db';
import type { DbOrTx } from '@trm/event-store';
import type { ServiceHost } from '@trm/runtime';
import {
  addParticipants,
  insertCaseFacts,
  removeParticipant,
  setRegionalCentre,
  setReturnConsent,
} from '../repositories/case-facts.repository.js';

/** Durable name: keep it stable, the inbox is keyed by it. */
export const CASE_FACTS_CONSUMER = 'repatriation-case-facts';

/**
 * Applies one referrals event to repatriation's own case facts. Data is parsed with the contract
 * first: a malformed event throws and ends in the dead letters instead of half-updating the facts.
 */
export async function applyReferralsEvent(tx: DbOrTx, schema: string, envelope: Pick<EventEnvelope, 'type' | 'data'>): Promise<void> {
  switch (envelope.type) {
    case 'CaseNotified': {
      const d = CaseNotifiedData.parse(envelope.data);
      await insertCaseFacts(tx, schema, d);
      return;
    }
    case 'NotificationAcknowledged': {
      const d = NotificationAcknowledgedData.parse(envelope.data);
      await setRegionalCentre(tx, schema, d.caseId, d.regionalCentreId);
      return;
    }
    case 'ParticipantAdded': {
      const d = ParticipantAddedData.parse(envelope.data);
      await addParticipants(tx, schema, d.caseId, [{ organisationId: d.organisationId, purpose: d.purpose }]);
      return;
    }
    case 'ParticipantRemoved': {
      const d = ParticipantRemovedData.parse(envelope.data);
      await removeParticipant(tx, schema, d.caseId, d.organisationId, d.purpose);
      return;
    }
    case 'ConsentRecorded': {
      const d = ConsentRecordedData.parse(envelope.data);
      if (d.purpose === 'return') await setReturnConsent(tx, schema, d.caseId, true);
      return;
    }
    case 'ConsentWithdrawn': {
      const d = ConsentWithdrawnData.parse(envelope.data);
      if (d.purpose === 'return') await setReturnConsent(tx, schema, d.caseId, false);
      return;
    }
    default:
      // Other referrals events carry nothing a return depends on.
      return;
  }
}

export function startCaseFactsConsumer(opts: { db: Db; schema: string; bus: Bus; source?: EventSource; logger?: Logger; metrics?: ServiceHost['metrics'] }): Promise<Subscription> {
  return startConsumer({
    db: opts.db,
    schema: opts.schema,
    name: CASE_FACTS_CONSUMER,
    bus: opts.bus,
    filterSubject: `${opts.bus.subjectsPrefix}.referrals.>`,
    handle: (tx, envelope) => applyReferralsEvent(tx, opts.schema, envelope),
    ...(opts.source ? { source: opts.source } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
}
