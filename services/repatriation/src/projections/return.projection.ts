import type { RepatriationEvent } from '@trm/contracts';
import type { DbOrTx, RecordedEvent } from '@trm/event-store';
import type { ReturnState } from '../domain/return.decider.js';

/**
 * Keeps `returns` and `return_deadlines` in step with a return stream, inside the command's
 * transaction: a 2xx is always followed by a read that sees it. The folded state is stored as
 * is, so every view applies the decider's own gate function to it.
 */
export async function projectReturn(tx: DbOrTx, schema: string, state: ReturnState, events: RecordedEvent[]): Promise<void> {
  const last = events.at(-1);
  if (!last || !state.returnId || !state.caseId) return;
  const db = tx.withSchema(schema);
  const row = {
    case_id: state.caseId,
    version: last.streamVersion,
    phase: state.phase,
    child: state.child,
    planned_departure_date: state.plannedDepartureDate!,
    late_notification: state.lateNotification,
    requested_by: state.requestedBy!,
    requested_at: state.requestedAt!,
    state: JSON.stringify(state),
    updated_at: last.recordedAt,
  };
  if (events.some((e) => ['ReturnRequested', 'UnannouncedArrivalRecorded'].includes((e as { type: RepatriationEvent['type'] }).type))) {
    await db.insertInto('returns').values({ return_id: state.returnId, ...row }).execute();
  } else {
    await db.updateTable('returns').set(row).where('return_id', '=', state.returnId).execute();
  }
  for (const d of deadlinesOf(state)) {
    await db
      .insertInto('return_deadlines')
      .values({ return_id: state.returnId, case_id: state.caseId, kind: d.kind, due_at: d.dueAt, met_at: d.metAt })
      .onConflict((oc) => oc.columns(['return_id', 'kind']).doUpdateSet({ due_at: d.dueAt, met_at: d.metAt }))
      .execute();
  }
}

export interface Deadline {
  kind: string;
  dueAt: string;
  metAt: string | null;
}

export function deadlinesOf(state: ReturnState): Deadline[] {
  const out: Deadline[] = [];
  if (state.acknowledgementDueAt) {
    out.push({ kind: 'acknowledgement', dueAt: state.acknowledgementDueAt, metAt: state.acknowledgement?.acknowledgedAt ?? null });
  }
  for (const f of state.followUps) out.push({ kind: `follow-up-${f.afterDays}-days`, dueAt: f.dueAt, metAt: f.recordedAt });
  return out;
}
