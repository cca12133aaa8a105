import type { ProceedingsEvent } from '@trm/contracts';
import type { DbOrTx, RecordedEvent } from '@trm/event-store';
import type { ProceedingsState } from '../domain/proceedings.decider.js';

/**
 * Keeps `proceedings_files` and `information_duties` in step with a case's proceedings stream,
 * inside the command's transaction, so the coordinator's duty list never lags a write.
 */
const DUTY_KIND = { StageChanged: 'stage_change', HearingScheduled: 'hearing', OutcomeRecorded: 'outcome', OffenderReleased: 'offender_release' } as const;

export async function projectProceedingsEvents(
  tx: DbOrTx,
  schema: string,
  caseId: string,
  events: RecordedEvent[],
  state: ProceedingsState,
  version: number,
): Promise<void> {
  if (events.length === 0) return;
  const db = tx.withSchema(schema);
  const at = events.at(-1)!.recordedAt;
  await db
    .insertInto('proceedings_files')
    .values({ case_id: caseId, version, participation: state.participation, updated_at: at })
    .onConflict((oc) => oc.column('case_id').doUpdateSet({ version, participation: state.participation, updated_at: at }))
    .execute();
  for (const recorded of events) {
    const event = { type: recorded.type, data: recorded.data } as ProceedingsEvent;
    switch (event.type) {
      case 'StageChanged':
      case 'HearingScheduled':
      case 'OutcomeRecorded':
      case 'OffenderReleased': {
        const d = event.data;
        // No duty arises when the victim asked not to be informed (the folded state has none).
        if (!state.duties.some((x) => x.dutyId === d.dutyId)) break;
        const kind = DUTY_KIND[event.type];
        await db
          .insertInto('information_duties')
          .values({
            duty_id: d.dutyId,
            case_id: caseId,
            criminal_case_id: d.criminalCaseId,
            kind,
            arisen_at: recorded.recordedAt,
            due_at: d.informDueAt,
            status: 'open',
          })
          .execute();
        break;
      }
      case 'VictimInformed': {
        const d = event.data;
        const late = new Set(d.lateDutyIds);
        for (const id of d.dutyIds) {
          await db
            .updateTable('information_duties')
            .set({ status: 'fulfilled', informed_at: d.informedAt, late: late.has(id) })
            .where('duty_id', '=', id)
            .execute();
        }
        break;
      }
      case 'ParticipationWithdrawn':
        if (event.data.lapsedDutyIds.length > 0) {
          await db.updateTable('information_duties').set({ status: 'lapsed' }).where('duty_id', 'in', event.data.lapsedDutyIds).execute();
        }
        break;
      default:
        break;
    }
  }
}
