import { type Bus, type EventSource, type Logger, type Subscription, startConsumer } from '@trm/bus';
import {
  ConsentRecordedData,
  ConsentWithdrawnData,
  type EventEnvelope,
  NotificationAcknowledgedData,
  ParticipantAddedData,
  ParticipantRemovedData,
  type RepatriationEvent,
  RiskFlagRaisedData,
  upcastCaseNotified,
  minorBasisOf,
  AgeAssessedData,
  AttributesCorrectedData,
  InformationProvidedData,
} from '@trm/contracts';
import type { Db } from '@trm/db';
import type { Decider, DbOrTx, EventStore } from '@trm/event-store';
import type { ServiceHost } from '@trm/runtime';
import type { ReturnCommand, ReturnState } from '../domain/return.decider.js';
import { projectReturn } from '../projections/return.projection.js';
import { findActiveReturnOfCase } from '../repositories/return.repository.js';
import {
  addParticipants,
  addRiskFlag,
  loadCaseFacts,
  insertCaseFacts,
  setMinority,
  removeParticipant,
  setRegionalCentre,
  setReturnConsent,
} from '../repositories/case-facts.repository.js';

/** Durable name: keep it stable, the inbox is keyed by it. */
export const CASE_FACTS_CONSUMER = 'repatriation-case-facts';

/** What the consumer needs to run a return command in its own transaction. */
export interface ReturnCommands {
  store: EventStore;
  decider: Decider<ReturnCommand, RepatriationEvent, ReturnState>;
  clock(): Date;
}

/**
 * Consent to return withdrawn in referrals cancels a return still being prepared
 * (`ReturnCancelled`, reason `consent_withdrawn`), in the consumer's transaction: the same one that
 * records the withdrawal in the case facts and the inbox row, so it happens exactly once.
 */
async function cancelOnWithdrawal(
  tx: DbOrTx,
  schema: string,
  cmds: ReturnCommands,
  caseId: string,
  envelope: Partial<Pick<EventEnvelope, 'metadata' | 'eventId'>>,
  withdrawnBy: string,
): Promise<void> {
  const active = await findActiveReturnOfCase(tx, schema, caseId);
  // Nothing planned, or already travelling: then the contact point acts on the withdrawal.
  if (!active || active.phase !== 'preparing') return;
  const facts = await loadCaseFacts(tx, schema, caseId);
  if (!facts || facts.returnConsent) return;
  const now = cmds.clock();
  const actor = `system:${CASE_FACTS_CONSUMER}`;
  const result = await cmds.store.handleCommand(
    tx,
    `return-${active.returnId}`,
    cmds.decider,
    { type: 'CancelOnConsentWithdrawn', data: { withdrawnBy }, metadata: { now, actor, organisationId: withdrawnBy, organisationType: 'national_contact_point', case: facts } },
    {
      now,
      metadata: {
        actor,
        organisation: envelope.metadata?.organisation ?? withdrawnBy,
        correlationId: envelope.metadata?.correlationId ?? envelope.eventId ?? actor,
        causationId: envelope.eventId ?? null,
        requestId: null,
      },
    },
  );
  await projectReturn(tx, schema, result.state, result.events);
}

/**
 * Applies one referrals event to repatriation's own case facts. Data is parsed with the contract
 * first: a malformed event throws and ends in the dead letters instead of half-updating the facts.
 */
export async function applyReferralsEvent(
  tx: DbOrTx,
  schema: string,
  envelope: Pick<EventEnvelope, 'type' | 'data'> & { schemaVersion?: number } & Partial<Pick<EventEnvelope, 'metadata' | 'eventId'>>,
  cmds?: ReturnCommands,
): Promise<void> {
  switch (envelope.type) {
    case 'CaseNotified': {
      // Any schema version, read as version 2: nationalContactPointIds are the contact points that coordinate.
      const d = upcastCaseNotified(envelope.data, envelope.schemaVersion);
      await insertCaseFacts(tx, schema, { ...d, minorBasis: minorBasisOf(d) });
      return;
    }
    // Minority follows the facts in referrals (issue 17): corrections, answers, age assessments.
    case 'AttributesCorrected': {
      const d = AttributesCorrectedData.parse(envelope.data);
      const changed = (a: string) => d.changes.find((c) => c.attribute === a);
      const birthYear = changed('birthYear');
      const age = changed('ageAtIdentification');
      const idDate = changed('identificationDate');
      await setMinority(tx, schema, d.caseId, {
        minor: d.minor,
        minorBasis: d.minorBasis === 'assessed' || d.minorBasis === 'presumed' ? d.minorBasis : d.minor ? 'declared' : null,
        ...(birthYear ? { birthYear: (birthYear.to as number | null) ?? null } : {}),
        ...(age ? { ageAtIdentification: (age.to as number | null) ?? null } : {}),
        ...(idDate ? { identificationDate: String(idDate.to) } : {}),
      });
      return;
    }
    case 'AgeAssessed': {
      const d = AgeAssessedData.parse(envelope.data);
      await setMinority(tx, schema, d.caseId, { minor: d.minor, minorBasis: 'assessed' });
      return;
    }
    case 'InformationProvided': {
      const d = InformationProvidedData.parse(envelope.data);
      if (d.birthYear === undefined && d.minor === undefined) return;
      await setMinority(tx, schema, d.caseId, {
        ...(d.birthYear !== undefined ? { birthYear: d.birthYear } : {}),
        ...(d.minor !== undefined ? { minor: d.minor, minorBasis: d.minorBasis ?? null } : {}),
      });
      return;
    }
    case 'NotificationAcknowledged': {
      const d = NotificationAcknowledgedData.parse(envelope.data);
      await setRegionalCentre(tx, schema, d.caseId, d.regionalCentreId);
      return;
    }
    case 'ParticipantAdded': {
      const d = ParticipantAddedData.parse(envelope.data);
      // A further contact point (joined on the person's consent to share with it) does not
      // coordinate the case and takes no part in its returns (yet): only the contact points the
      // case was notified to are the origin side.
      if (d.purpose === 'national_contact_point') return;
      await addParticipants(tx, schema, d.caseId, [{ organisationId: d.organisationId, purpose: d.purpose }]);
      return;
    }
    case 'ParticipantRemoved': {
      const d = ParticipantRemovedData.parse(envelope.data);
      if (d.purpose === 'national_contact_point') return;
      await removeParticipant(tx, schema, d.caseId, d.organisationId, d.purpose);
      return;
    }
    case 'ConsentRecorded': {
      const d = ConsentRecordedData.parse(envelope.data);
      if (d.purpose === 'return') await setReturnConsent(tx, schema, d.caseId, true, d.givenBy);
      return;
    }
    case 'ConsentWithdrawn': {
      const d = ConsentWithdrawnData.parse(envelope.data);
      if (d.purpose === 'return') {
        await setReturnConsent(tx, schema, d.caseId, false);
        if (cmds) await cancelOnWithdrawal(tx, schema, cmds, d.caseId, envelope, d.recordedBy);
      }
      return;
    }
    case 'RiskFlagRaised': {
      const d = RiskFlagRaisedData.parse(envelope.data);
      // Lost contact is for the contact point to act on; a threat or re-trafficking stops departure until the origin reassesses.
      if (d.kind === 'threat' || d.kind === 're_trafficking') await addRiskFlag(tx, schema, d);
      return;
    }
    default:
      // Other referrals events carry nothing a return depends on.
      return;
  }
}

export function startCaseFactsConsumer(opts: {
  db: Db;
  schema: string;
  bus: Bus;
  source?: EventSource;
  logger?: Logger;
  metrics?: ServiceHost['metrics'];
  /** With them, a withdrawal of consent to return cancels a return being prepared. */
  commands?: ReturnCommands;
}): Promise<Subscription> {
  return startConsumer({
    db: opts.db,
    schema: opts.schema,
    name: CASE_FACTS_CONSUMER,
    bus: opts.bus,
    filterSubject: `${opts.bus.subjectsPrefix}.referrals.>`,
    handle: (tx, envelope) => applyReferralsEvent(tx, opts.schema, envelope, opts.commands),
    ...(opts.source ? { source: opts.source } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
}
