import { sql } from 'kysely';
import type { DbOrTx } from '@trm/event-store';
import type { ReturnState } from '../domain/return.decider.js';

export interface ReturnRecord {
  returnId: string;
  caseId: string;
  version: number;
  state: ReturnState;
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

const toRecord = (row: { return_id: string; case_id: string; version: number; state: unknown }): ReturnRecord => ({
  returnId: row.return_id,
  caseId: row.case_id,
  version: row.version,
  state: json<ReturnState>(row.state),
});

const participates = (orgId: string) => (eb: any) =>
  eb.exists(
    eb
      .selectFrom('case_participants as p')
      .select(sql.lit(1).as('one'))
      .whereRef('p.case_id', '=', 'r.case_id')
      .where('p.organisation_id', '=', orgId),
  );

/**
 * Who a listing admits (access matrix): organisations taking part with one of these purposes, and,
 * when admitted, the escort of the travel plan and the receiving organisation of the return (who
 * must take part in the case all the same).
 */
export interface Admitted {
  participantPurposes: string[];
  escort: boolean;
  reception: boolean;
}

const admits = (orgId: string, a: Admitted) => (eb: any) => {
  const byPurpose =
    a.participantPurposes.length === 0
      ? sql<boolean>`false`
      : eb.exists(
          eb
            .selectFrom('case_participants as p')
            .select(sql.lit(1).as('one'))
            .whereRef('p.case_id', '=', 'r.case_id')
            .where('p.organisation_id', '=', orgId)
            .where('p.purpose', 'in', a.participantPurposes),
        );
  const byReturn = [
    ...(a.escort ? [sql<boolean>`r.state->'travelPlan'->>'escortOrganisationId' = ${orgId}`] : []),
    ...(a.reception
      ? [sql<boolean>`(r.state->'reception'->>'receivingOrganisationId' = ${orgId} or r.state->'arrival'->>'receivedBy' = ${orgId} or r.state->'handedOver'->>'receivingOrganisationId' = ${orgId})`]
      : []),
  ];
  return eb.and([participates(orgId)(eb), eb.or([byPurpose, ...byReturn])]);
};

/** The return if `orgId` takes part in its case; otherwise undefined, exactly as if it did not exist. */
export async function findReturnForOrganisation(db: DbOrTx, schema: string, returnId: string, orgId: string): Promise<ReturnRecord | undefined> {
  const row = await db
    .withSchema(schema)
    .selectFrom('returns as r')
    .select(['r.return_id', 'r.case_id', 'r.version', 'r.state'])
    .where('r.return_id', '=', returnId)
    .where(participates(orgId))
    .executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

export async function activeReturnOfCase(db: DbOrTx, schema: string, caseId: string): Promise<string | undefined> {
  const row = await db.withSchema(schema).selectFrom('returns').select('return_id').where('case_id', '=', caseId).where('phase', '<>', 'cancelled').executeTakeFirst();
  return row?.return_id;
}

/** The return of a case not cancelled, with its phase (for the consumer that cancels on a withdrawal). */
export async function findActiveReturnOfCase(db: DbOrTx, schema: string, caseId: string): Promise<{ returnId: string; phase: string } | undefined> {
  const row = await db.withSchema(schema).selectFrom('returns').select(['return_id', 'phase']).where('case_id', '=', caseId).where('phase', '<>', 'cancelled').executeTakeFirst();
  return row ? { returnId: row.return_id, phase: row.phase } : undefined;
}

export interface ReturnListFilter {
  caseId?: string | undefined;
  phase?: string | undefined;
  /** Only returns still under way (not cancelled, follow-ups not all recorded). */
  inProgress?: boolean;
  /** Only cases where the organisation takes part as contact point (the board). */
  asContactPoint?: boolean;
  /** Only returns the organisation's purposes let it see (the access matrix). */
  admitted?: Admitted;
  before?: string | undefined;
  limit: number;
}

/** Newest first (UUIDv7 ids sort by request time); only returns of cases the organisation takes part in. */
export async function listReturnsForOrganisation(db: DbOrTx, schema: string, orgId: string, f: ReturnListFilter): Promise<ReturnRecord[]> {
  let q = db
    .withSchema(schema)
    .selectFrom('returns as r')
    .select(['r.return_id', 'r.case_id', 'r.version', 'r.state'])
    .orderBy('r.return_id', 'desc')
    .limit(f.limit);
  if (f.asContactPoint) {
    q = q.where((eb: any) =>
      eb.exists(
        eb
          .selectFrom('case_participants as p')
          .select(sql.lit(1).as('one'))
          .whereRef('p.case_id', '=', 'r.case_id')
          .where('p.organisation_id', '=', orgId)
          .where('p.purpose', 'in', ['national_contact_point', 'regional_centre']),
      ),
    );
  } else {
    q = q.where(f.admitted ? admits(orgId, f.admitted) : participates(orgId));
  }
  if (f.caseId) q = q.where('r.case_id', '=', f.caseId);
  if (f.phase) q = q.where('r.phase', '=', f.phase);
  if (f.inProgress) {
    q = q.where('r.phase', '<>', 'cancelled').where((eb: any) =>
      eb.or([
        eb('r.phase', 'in', ['preparing', 'in_transit', 'arrived']),
        eb.exists(eb.selectFrom('return_deadlines as d').select(sql.lit(1).as('one')).whereRef('d.return_id', '=', 'r.return_id').where('d.met_at', 'is', null)),
      ]),
    );
  }
  if (f.before) q = q.where('r.return_id', '<', f.before);
  return (await q.execute()).map(toRecord);
}

export interface DeadlineRecord {
  returnId: string;
  caseId: string;
  kind: string;
  dueAt: string;
  metAt: string | null;
}

export async function listDeadlinesForOrganisation(
  db: DbOrTx,
  schema: string,
  orgId: string,
  f: {
    overdue?: boolean | undefined;
    open?: boolean | undefined;
    now: Date;
    before?: { dueAt: string; returnId: string; kind: string } | undefined;
    limit: number;
    /** Only deadlines of returns the organisation's purposes let it see (the access matrix). */
    admitted?: Admitted;
  },
): Promise<DeadlineRecord[]> {
  let q = db
    .withSchema(schema)
    .selectFrom('return_deadlines as d')
    .innerJoin('returns as r', 'r.return_id', 'd.return_id')
    .select(['d.return_id', 'd.case_id', 'd.kind', 'd.due_at', 'd.met_at'])
    .where('r.phase', '<>', 'cancelled')
    .where(f.admitted ? admits(orgId, f.admitted) : participates(orgId))
    .orderBy('d.due_at')
    .orderBy('d.return_id')
    .orderBy('d.kind')
    .limit(f.limit);
  if (f.overdue === true) q = q.where('d.met_at', 'is', null).where('d.due_at', '<', f.now);
  if (f.overdue === false) q = q.where((eb: any) => eb.or([eb('d.met_at', 'is not', null), eb('d.due_at', '>=', f.now)]));
  if (f.open === true) q = q.where('d.met_at', 'is', null);
  if (f.open === false) q = q.where('d.met_at', 'is not', null);
  if (f.before) {
    const b = f.before;
    q = q.where(sql<boolean>`(d.due_at, d.return_id::text, d.kind) > (${b.dueAt}::timestamptz, ${b.returnId}, ${b.kind})`);
  }
  const rows = await q.execute();
  return rows.map((r: any) => ({ returnId: r.return_id, caseId: r.case_id, kind: r.kind, dueAt: iso(r.due_at), metAt: r.met_at ? iso(r.met_at) : null }));
}

export async function deadlinesOfReturn(db: DbOrTx, schema: string, returnId: string): Promise<DeadlineRecord[]> {
  const rows = await db.withSchema(schema).selectFrom('return_deadlines').selectAll().where('return_id', '=', returnId).orderBy('due_at').execute();
  return rows.map((r: any) => ({ returnId: r.return_id, caseId: r.case_id, kind: r.kind, dueAt: iso(r.due_at), metAt: r.met_at ? iso(r.met_at) : null }));
}

/** Counts for the contact point's board: returns under way, flagged late, acknowledgements overdue. */
export async function boardSummary(db: DbOrTx, schema: string, orgId: string, now: Date): Promise<{ inPreparation: number; inTransit: number; lateNotifications: number; overdueDeadlines: number }> {
  const { rows } = await sql<{ in_preparation: string; in_transit: string; late: string; overdue: string }>`
    with mine as (
      select r.* from ${sql.table(`${schema}.returns`)} r
      where exists (select 1 from ${sql.table(`${schema}.case_participants`)} p
                    where p.case_id = r.case_id and p.organisation_id = ${orgId}
                      and p.purpose in ('national_contact_point', 'regional_centre'))
    )
    select
      (select count(*) from mine where phase = 'preparing')::text as in_preparation,
      (select count(*) from mine where phase = 'in_transit')::text as in_transit,
      (select count(*) from mine where late_notification and phase <> 'cancelled')::text as late,
      (select count(*) from ${sql.table(`${schema}.return_deadlines`)} d join mine on mine.return_id = d.return_id
        where mine.phase <> 'cancelled' and d.met_at is null and d.due_at < ${now})::text as overdue`.execute(db);
  const r = rows[0]!;
  return { inPreparation: Number(r.in_preparation), inTransit: Number(r.in_transit), lateNotifications: Number(r.late), overdueDeadlines: Number(r.overdue) };
}
