import { sql } from 'kysely';
import type { ReferralsEvent } from '@trm/contracts';
import type { DbOrTx, RecordedEvent } from '@trm/event-store';

/**
 * Keeps `cases`, `case_participants` and `case_deadlines` in step with the case streams. Runs
 * inside the command's transaction (inline projection), so the read model never lags its own
 * service's writes. Views of one case fold its stream; these tables serve access checks, lists
 * and deadlines across cases.
 */
export async function projectCaseEvents(tx: DbOrTx, schema: string, events: RecordedEvent[]): Promise<void> {
  const db = tx.withSchema(schema);
  for (const recorded of events) {
    const event = { type: recorded.type, data: recorded.data } as ReferralsEvent;
    const at = recorded.recordedAt;
    const caseId = event.data.caseId;
    const deadline = (id: string) => db.updateTable('case_deadlines').where('case_id', '=', caseId).where('deadline_id', '=', id);
    switch (event.type) {
      case 'CaseNotified': {
        const d = event.data;
        const { situation, notifyingOrganisationId, notifiedAt, acknowledgementDueAt, minor, caseId: _, ...rest } = d;
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
        await db
          .insertInto('case_deadlines')
          .values({ case_id: caseId, deadline_id: 'acknowledgement', kind: 'acknowledgement', due_at: acknowledgementDueAt, owner_org_ids: sql`${sql.val(d.nationalContactPointIds)}::text[]` })
          .execute();
        continue;
      }
      case 'NotificationAcknowledged': {
        const d = event.data;
        await db
          .updateTable('cases')
          .set({ status: 'acknowledged', acknowledged_at: d.acknowledgedAt, regional_centre_id: d.regionalCentreId, acknowledgement: JSON.stringify(d) })
          .where('case_id', '=', caseId)
          .execute();
        await db
          .insertInto('case_participants')
          .values({ case_id: caseId, organisation_id: d.regionalCentreId, purpose: 'regional_centre', added_at: at })
          .onConflict((oc) => oc.doNothing())
          .execute();
        await deadline('acknowledgement').set({ met: true }).execute();
        break;
      }
      case 'ParticipantAdded':
        await db
          .insertInto('case_participants')
          .values({ case_id: caseId, organisation_id: event.data.organisationId, purpose: event.data.purpose, added_at: at })
          .onConflict((oc) => oc.doNothing())
          .execute();
        break;
      case 'ParticipantRemoved':
        await db
          .deleteFrom('case_participants')
          .where('case_id', '=', caseId)
          .where('organisation_id', '=', event.data.organisationId)
          .where('purpose', '=', event.data.purpose)
          .execute();
        break;
      case 'InformationRequested':
        await db
          .insertInto('case_deadlines')
          .values({
            case_id: caseId,
            deadline_id: `information-request:${event.data.informationRequestId}`,
            kind: 'information_request',
            due_at: event.data.dueAt,
            owner_org_ids: sql`${sql.val([event.data.requestedFrom])}::text[]`,
          })
          .execute();
        break;
      case 'InformationProvided':
        await deadline(`information-request:${event.data.informationRequestId}`).set({ met: true }).execute();
        break;
      case 'ReflectionPeriodGranted': {
        const coordinators = await db
          .selectFrom('case_participants')
          .select('organisation_id')
          .where('case_id', '=', caseId)
          .where('purpose', 'in', ['national_contact_point', 'regional_centre'])
          .execute();
        await db
          .insertInto('case_deadlines')
          .values({
            case_id: caseId,
            deadline_id: `reflection-period:${event.data.periodNumber}`,
            kind: 'reflection_period',
            due_at: new Date(Date.parse(`${event.data.endsOn}T00:00:00.000Z`) + 86_400_000).toISOString(),
            owner_org_ids: sql`${sql.val(coordinators.map((c) => c.organisation_id))}::text[]`,
          })
          .execute();
        break;
      }
      case 'ReflectionPeriodEnded':
        await deadline(`reflection-period:${event.data.periodNumber}`).set({ met: true }).execute();
        break;
      case 'DeadlineMissed':
        await deadline(event.data.deadlineId).set({ missed_at: event.data.detectedAt }).execute();
        break;
      case 'CaseClosed':
        await db.updateTable('cases').set({ status: 'closed' }).where('case_id', '=', caseId).execute();
        break;
      case 'CaseReopened':
        await db
          .updateTable('cases')
          .set({ status: sql`case when acknowledged_at is null then 'notified' else 'acknowledged' end` })
          .where('case_id', '=', caseId)
          .execute();
        break;
      case 'PersonalDataAccessed':
        // Recorded on its own stream (`case-access-<id>`): reading never changes the case version.
        continue;
      case 'ConsentRecorded':
      case 'ConsentWithdrawn':
      case 'VictimStatusDetermined':
      case 'ServiceReferralMade':
      case 'ServiceReferralAssigned':
      case 'ServiceReferralAccepted':
      case 'ServiceReferralDeclined':
      case 'AssistanceDelivered':
      case 'ServiceReferralClosed':
      case 'MonitoringContactRecorded':
      case 'RiskFlagRaised':
      case 'PersonalDataErased':
        break;
      default: {
        const unknown: never = event;
        throw new Error(`Unprojected event ${(unknown as { type: string }).type}`);
      }
    }
    await db.updateTable('cases').set({ version: recorded.streamVersion, updated_at: at }).where('case_id', '=', caseId).execute();
  }
}
