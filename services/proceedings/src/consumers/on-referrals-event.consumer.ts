import type { Transaction } from 'kysely';
import {
  CaseNotifiedData,
  type EventEnvelope,
  NotificationAcknowledgedData,
  ParticipantAddedData,
  ParticipantRemovedData,
  PersonalDataErasedData,
} from '@trm/contracts';
import type { Vault } from '@trm/vault';
import { removeCaseParty, upsertCaseFacts, upsertCaseParty } from '../repositories/case-facts.repository.js';

/**
 * Keeps the local case facts in step with referrals. Runs inside the consumer's inbox
 * transaction, so each event takes effect exactly once. Event types this service does not need
 * are acknowledged and ignored; a known type whose data does not parse throws, so the bus retries
 * and finally dead-letters it rather than silently dropping an access change.
 */
export async function onReferralsEvent(tx: Transaction<any>, schema: string, envelope: EventEnvelope, vault?: Pick<Vault, 'erase'>): Promise<void> {
  const at = envelope.recordedAt;
  switch (envelope.type) {
    case 'CaseNotified': {
      const d = CaseNotifiedData.parse(envelope.data);
      await upsertCaseFacts(tx, schema, {
        caseId: d.caseId,
        notifyingOrganisationId: d.notifyingOrganisationId,
        notifyingOrganisationType: d.notifyingOrganisationType,
        notifiedAt: d.notifiedAt,
      });
      await upsertCaseParty(tx, schema, { caseId: d.caseId, organisationId: d.notifyingOrganisationId, organisationType: d.notifyingOrganisationType, purpose: 'notifier', at });
      for (const id of d.nationalContactPointIds) {
        await upsertCaseParty(tx, schema, { caseId: d.caseId, organisationId: id, organisationType: 'national_contact_point', purpose: 'national_contact_point', at });
      }
      return;
    }
    case 'NotificationAcknowledged': {
      const d = NotificationAcknowledgedData.parse(envelope.data);
      await upsertCaseParty(tx, schema, { caseId: d.caseId, organisationId: d.regionalCentreId, organisationType: 'national_contact_point', purpose: 'regional_centre', at });
      return;
    }
    case 'ParticipantAdded': {
      const d = ParticipantAddedData.parse(envelope.data);
      await upsertCaseParty(tx, schema, { caseId: d.caseId, organisationId: d.organisationId, organisationType: d.organisationType, purpose: d.purpose, at });
      return;
    }
    case 'ParticipantRemoved': {
      const d = ParticipantRemovedData.parse(envelope.data);
      await removeCaseParty(tx, schema, d.caseId, d.organisationId, d.purpose);
      return;
    }
    case 'PersonalDataErased': {
      // The criminal case references are the same subject's personal data: erasure is whole.
      const d = PersonalDataErasedData.parse(envelope.data);
      await vault?.erase(tx, d.caseId);
      return;
    }
    default:
      return;
  }
}
