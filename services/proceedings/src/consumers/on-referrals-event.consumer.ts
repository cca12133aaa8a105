import type { Transaction } from 'kysely';
import {
  type EventEnvelope,
  NotificationAcknowledgedData,
  ParticipantAddedData,
  ParticipantRemovedData,
  PersonalDataErasedData,
  upcastCaseNotified,
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
      // Any schema version, read as version 2: nationalContactPointIds are the contact points that coordinate.
      const d = upcastCaseNotified(envelope.data, envelope.schemaVersion);
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
      // A further contact point (joined on the person's consent to share with it) does not
      // coordinate the case and has no part in its proceedings.
      if (d.purpose === 'national_contact_point') return;
      await upsertCaseParty(tx, schema, { caseId: d.caseId, organisationId: d.organisationId, organisationType: d.organisationType, purpose: d.purpose, at });
      return;
    }
    case 'ParticipantRemoved': {
      const d = ParticipantRemovedData.parse(envelope.data);
      if (d.purpose === 'national_contact_point') return;
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
