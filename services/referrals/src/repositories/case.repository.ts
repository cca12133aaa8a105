import { sql } from 'kysely';
import type { DbOrTx } from '@trm/event-store';

export interface CaseRecord {
  caseId: string;
  version: number;
  status: string;
  situation: string;
  notifyingOrganisationId: string;
  notifiedAt: string;
  acknowledgementDueAt: string;
  acknowledgedAt: string | null;
  regionalCentreId: string | null;
  minor: boolean;
  attributes: Record<string, unknown>;
  acknowledgement: Record<string, unknown> | null;
  participants: Array<{ organisationId: string; purpose: string }>;
  /** Purposes for which the reading organisation takes part. */
  callerPurposes: string[];
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

function toRecord(row: any, participants: Array<{ organisation_id: string; purpose: string }>, orgId: string): CaseRecord {
  return {
    caseId: row.case_id,
    version: row.version,
    status: row.status,
    situation: row.situation,
    notifyingOrganisationId: row.notifying_organisation_id,
    notifiedAt: iso(row.notified_at),
    acknowledgementDueAt: iso(row.acknowledgement_due_at),
    acknowledgedAt: row.acknowledged_at ? iso(row.acknowledged_at) : null,
    regionalCentreId: row.regional_centre_id,
    minor: row.minor,
    attributes: json(row.attributes),
    acknowledgement: row.acknowledgement ? json(row.acknowledgement) : null,
    participants: participants.map((p) => ({ organisationId: p.organisation_id, purpose: p.purpose })),
    callerPurposes: participants.filter((p) => p.organisation_id === orgId).map((p) => p.purpose),
  };
}

/** The case if `orgId` takes part in it; otherwise undefined, exactly as if it did not exist. */
export async function findCaseForOrganisation(db: DbOrTx, schema: string, caseId: string, orgId: string): Promise<CaseRecord | undefined> {
  // One statement: the case row with its participants (in the order they were added).
  const participantsTable = sql.table(`${schema}.case_participants`);
  const row = await db
    .withSchema(schema)
    .selectFrom('cases as c')
    .selectAll('c')
    .select(
      sql<Array<{ organisation_id: string; purpose: string }>>`(
        select coalesce(json_agg(json_build_object('organisation_id', p.organisation_id, 'purpose', p.purpose) order by p.added_at), '[]'::json)
        from ${participantsTable} p where p.case_id = c.case_id)`.as('participants'),
    )
    .where('c.case_id', '=', caseId)
    .executeTakeFirst();
  if (!row) return undefined;
  const participants = json(row.participants) as Array<{ organisation_id: string; purpose: string }>;
  if (!participants.some((p) => p.organisation_id === orgId)) return undefined;
  return toRecord(row, participants, orgId);
}

export interface CaseListFilter {
  status?: string | undefined;
  situation?: string | undefined;
  overdue?: boolean | undefined;
  /** Case id of the last item of the previous page (UUIDv7 ids sort by notification time). */
  before?: string | undefined;
  limit: number;
  now: Date;
}

/** Newest first; only cases the organisation takes part in. */
export async function listCasesForOrganisation(db: DbOrTx, schema: string, orgId: string, f: CaseListFilter): Promise<CaseRecord[]> {
  const s = db.withSchema(schema);
  let q = s
    .selectFrom('cases as c')
    .selectAll('c')
    .where((eb) => eb.exists(eb.selectFrom('case_participants as p').select(sql.lit(1).as('one')).whereRef('p.case_id', '=', 'c.case_id').where('p.organisation_id', '=', orgId)))
    .orderBy('c.case_id', 'desc')
    .limit(f.limit);
  if (f.status) q = q.where('c.status', '=', f.status);
  if (f.situation) q = q.where('c.situation', '=', f.situation);
  if (f.overdue === true) q = q.where('c.acknowledged_at', 'is', null).where('c.acknowledgement_due_at', '<', f.now);
  if (f.overdue === false) q = q.where((eb) => eb.or([eb('c.acknowledged_at', 'is not', null), eb('c.acknowledgement_due_at', '>=', f.now)]));
  if (f.before) q = q.where('c.case_id', '<', f.before);
  const rows = await q.execute();
  if (rows.length === 0) return [];
  const participants = await s
    .selectFrom('case_participants')
    .select(['case_id', 'organisation_id', 'purpose'])
    .where('case_id', 'in', rows.map((r: any) => r.case_id))
    .orderBy('added_at')
    .execute();
  return rows.map((r: any) => toRecord(r, participants.filter((p) => p.case_id === r.case_id), orgId));
}
