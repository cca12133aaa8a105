import type { ReferralsEvent } from '@trm/contracts';
import type { DbOrTx, RecordedEvent } from '@trm/event-store';

/**
 * Keeps `cases` and `case_participants` in step with the case streams. Runs inside the command's
 * transaction (inline projection), so the read model never lags its own service's writes.
 */
export async function projectCaseEvents(tx: DbOrTx, schema: string, events: RecordedEvent[]): Promise<void> {
  const db = tx.withSchema(schema);
  for (const recorded of events) {
    const event = { type: recorded.type, data: recorded.data } as ReferralsEvent;
    const at = recorded.recordedAt;
    switch (event.type) {
      case 'CaseNotified': {
        const d = event.data;
        const { caseId, situation, notifyingOrganisationId, notifiedAt, acknowledgementDueAt, minor, ...rest } = d;
        await db
          .insertInto('cases')
          .values({
            case_id: caseId,
            version: recorded.streamVersion,
            status: 'notified',
            situation,
            notifying_organisation_id: notifyingOrganisationId,
            notified_at: notifiedAt,
            acknowledgement_due_at: acknowledgementDueAt,
            minor,
            attributes: JSON.stringify(rest),
            updated_at: at,
          })
          .execute();
        const participants = [
          { organisation_id: notifyingOrganisationId, purpose: 'notifier' },
          ...d.nationalContactPointIds.map((id) => ({ organisation_id: id, purpose: 'national_contact_point' })),
        ];
        await db
          .insertInto('case_participants')
          .values(participants.map((p) => ({ ...p, case_id: caseId, added_at: at })))
          .onConflict((oc) => oc.doNothing())
          .execute();
        break;
      }
      case 'NotificationAcknowledged': {
        const d = event.data;
        await db
          .updateTable('cases')
          .set({
            status: 'acknowledged',
            acknowledged_at: d.acknowledgedAt,
            regional_centre_id: d.regionalCentreId,
            acknowledgement: JSON.stringify(d),
            version: recorded.streamVersion,
            updated_at: at,
          })
          .where('case_id', '=', d.caseId)
          .execute();
        await db
          .insertInto('case_participants')
          .values({ case_id: d.caseId, organisation_id: d.regionalCentreId, purpose: 'regional_centre', added_at: at })
          .onConflict((oc) => oc.doNothing())
          .execute();
        break;
      }
      case 'ParticipantAdded':
    case 'ParticipantRemoved':
    case 'ConsentRecorded':
    case 'ConsentWithdrawn':
      case 'PersonalDataAccessed':
        await db.updateTable('cases').set({ version: recorded.streamVersion, updated_at: at }).where('case_id', '=', event.data.caseId).execute();
        break;
      default: {
        const unknown: never = event;
        throw new Error(`Unprojected event ${(unknown as { type: string }).type}`);
      }
    }
  }
}
