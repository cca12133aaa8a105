import { sql } from 'kysely';
import type { DbOrTx } from '@trm/event-store';

export interface OpenDeadline {
  caseId: string;
  deadlineId: string;
  kind: 'acknowledgement' | 'information_request' | 'reflection_period' | 'child_protection';
  dueAt: string;
  missedRecorded: boolean;
  version: number;
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

function toDeadline(r: any): OpenDeadline {
  return { caseId: r.case_id, deadlineId: r.deadline_id, kind: r.kind, dueAt: iso(r.due_at), missedRecorded: r.missed_at !== null, version: r.version };
}

/**
 * Open deadlines of open cases that `orgId` must act on, or that belong to a case it coordinates
 * (national contact point, regional centre), soonest first; only of cases it still takes part in.
 */
export async function listOpenDeadlines(
  db: DbOrTx,
  schema: string,
  orgId: string,
  f: { now: Date; warnUntil: Date; state?: 'due' | 'ending_soon' | 'overdue' | undefined; after?: { dueAt: string; caseId: string; deadlineId: string } | undefined; limit: number },
): Promise<OpenDeadline[]> {
  let q = db
    .withSchema(schema)
    .selectFrom('case_deadlines as d')
    .innerJoin('cases as c', 'c.case_id', 'd.case_id')
    .select(['d.case_id', 'd.deadline_id', 'd.kind', 'd.due_at', 'd.missed_at', 'c.version'])
    .where('d.met', '=', false)
    .where('c.status', '<>', 'closed')
    // Only while the organisation takes part in the case: an owner removed since sees nothing of it.
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('case_participants as p')
          .select(sql.lit(1).as('one'))
          .whereRef('p.case_id', '=', 'd.case_id')
          .where('p.organisation_id', '=', orgId)
          .where((w) => w.or([sql<boolean>`${orgId} = any(d.owner_org_ids)`, w('p.purpose', 'in', ['national_contact_point', 'regional_centre'])])),
      ),
    )
    .orderBy('d.due_at')
    .orderBy('d.case_id')
    .orderBy('d.deadline_id')
    .limit(f.limit);
  if (f.state === 'overdue') q = q.where('d.due_at', '<', f.now);
  if (f.state === 'due') q = q.where('d.due_at', '>=', f.now);
  if (f.state === 'ending_soon') q = q.where('d.kind', '=', 'reflection_period').where('d.due_at', '>=', f.now).where('d.due_at', '<=', f.warnUntil);
  if (f.after) {
    const a = f.after;
    q = q.where(sql<boolean>`(d.due_at, d.case_id, d.deadline_id) > (${a.dueAt}::timestamptz, ${a.caseId}::uuid, ${a.deadlineId})`);
  }
  return (await q.execute()).map(toDeadline);
}

/** Deadlines past due, not met, not yet recorded as missed, in open cases: the scheduler's work. */
export async function findMissedDeadlines(db: DbOrTx, schema: string, now: Date, limit: number): Promise<OpenDeadline[]> {
  const rows = await db
    .withSchema(schema)
    .selectFrom('case_deadlines as d')
    .innerJoin('cases as c', 'c.case_id', 'd.case_id')
    .select(['d.case_id', 'd.deadline_id', 'd.kind', 'd.due_at', 'd.missed_at', 'c.version'])
    .where('d.met', '=', false)
    .where('d.missed_at', 'is', null)
    .where('c.status', '<>', 'closed')
    .where('d.due_at', '<', now)
    .orderBy('d.due_at')
    .limit(limit)
    .execute();
  return rows.map(toDeadline);
}
