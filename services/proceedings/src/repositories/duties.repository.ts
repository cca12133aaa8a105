import type { InformationDutyKind } from '@trm/contracts';
import type { DbOrTx } from '@trm/event-store';
import { coordinatorCasesOf } from './case-facts.repository.js';

export interface DutyRecord {
  dutyId: string;
  caseId: string;
  criminalCaseId: string;
  kind: InformationDutyKind;
  arisenAt: string;
  dueAt: string;
  status: 'open' | 'fulfilled' | 'lapsed';
  informedAt: string | null;
  late: boolean;
}

export interface DutyFilter {
  /** `overdue`: open and past due at `now`. */
  status?: 'open' | 'overdue' | 'fulfilled' | 'lapsed' | undefined;
  caseId?: string | undefined;
  /** Keyset after (due_at, duty_id) of the previous page's last item. */
  after?: { dueAt: string; dutyId: string } | undefined;
  limit: number;
  now: Date;
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

/** Duties of the cases where `orgId` is on the victim's side, soonest due first. */
export async function listDutiesForOrganisation(db: DbOrTx, schema: string, orgId: string, f: DutyFilter): Promise<DutyRecord[]> {
  let q = db
    .withSchema(schema)
    .selectFrom('information_duties as d')
    .selectAll('d')
    .where('d.case_id', 'in', coordinatorCasesOf(db, schema, orgId))
    .orderBy('d.due_at')
    .orderBy('d.duty_id')
    .limit(f.limit);
  if (f.status === 'overdue') q = q.where('d.status', '=', 'open').where('d.due_at', '<', f.now);
  else if (f.status) q = q.where('d.status', '=', f.status);
  if (f.caseId) q = q.where('d.case_id', '=', f.caseId);
  if (f.after) {
    const { dueAt, dutyId } = f.after;
    q = q.where((eb) => eb.or([eb('d.due_at', '>', new Date(dueAt)), eb.and([eb('d.due_at', '=', new Date(dueAt)), eb('d.duty_id', '>', dutyId)])]));
  }
  const rows = await q.execute();
  return rows.map((r: any) => ({
    dutyId: r.duty_id,
    caseId: r.case_id,
    criminalCaseId: r.criminal_case_id,
    kind: r.kind,
    arisenAt: iso(r.arisen_at),
    dueAt: iso(r.due_at),
    status: r.status,
    informedAt: r.informed_at ? iso(r.informed_at) : null,
    late: r.late,
  }));
}
