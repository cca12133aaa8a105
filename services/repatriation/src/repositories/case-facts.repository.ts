import type { DbOrTx } from '@trm/event-store';
import type { EventSource } from '@trm/bus';
import { sql } from 'kysely';
import type { CaseFacts } from '../domain/case-facts.js';

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

export interface CaseNotifiedFacts {
  caseId: string;
  notifyingOrganisationId: string;
  nationalContactPointIds: string[];
  minor: boolean;
  /** Why the case is a child's (CaseNotified v2, issue 17); absent or null: read from the age facts. */
  minorBasis?: string | null;
  birthYear: number | null;
  ageAtIdentification: number | null;
  identificationDate: string;
  notifiedAt: string;
}

export async function insertCaseFacts(db: DbOrTx, schema: string, f: CaseNotifiedFacts): Promise<void> {
  await db
    .withSchema(schema)
    .insertInto('case_facts')
    .values({
      case_id: f.caseId,
      notifying_organisation_id: f.notifyingOrganisationId,
      national_contact_point_ids: JSON.stringify(f.nationalContactPointIds),
      minor: f.minor,
      minor_basis: f.minorBasis ?? null,
      birth_year: f.birthYear,
      age_at_identification: f.ageAtIdentification,
      identification_date: f.identificationDate,
      notified_at: f.notifiedAt,
    })
    .onConflict((oc) => oc.column('case_id').doNothing())
    .execute();
  await addParticipants(db, schema, f.caseId, [
    { organisationId: f.notifyingOrganisationId, purpose: 'notifier' },
    ...f.nationalContactPointIds.map((id) => ({ organisationId: id, purpose: 'national_contact_point' })),
  ]);
}

/**
 * Minority and age facts after a correction, an answer or an age assessment in referrals (issue
 * 17): only the fields given change.
 */
export async function setMinority(
  db: DbOrTx,
  schema: string,
  caseId: string,
  f: { minor?: boolean; minorBasis?: string | null; birthYear?: number | null; ageAtIdentification?: number | null; identificationDate?: string },
): Promise<void> {
  const set: Record<string, unknown> = { updated_at: new Date() };
  if (f.minor !== undefined) set.minor = f.minor;
  if (f.minorBasis !== undefined) set.minor_basis = f.minorBasis;
  if (f.birthYear !== undefined) set.birth_year = f.birthYear;
  if (f.ageAtIdentification !== undefined) set.age_at_identification = f.ageAtIdentification;
  if (f.identificationDate !== undefined) set.identification_date = f.identificationDate;
  await db.withSchema(schema).updateTable('case_facts').set(set).where('case_id', '=', caseId).execute();
}

export async function setRegionalCentre(db: DbOrTx, schema: string, caseId: string, regionalCentreId: string): Promise<void> {
  await db.withSchema(schema).updateTable('case_facts').set({ regional_centre_id: regionalCentreId, updated_at: new Date() }).where('case_id', '=', caseId).execute();
  await addParticipants(db, schema, caseId, [{ organisationId: regionalCentreId, purpose: 'regional_centre' }]);
}

export async function setReturnConsent(db: DbOrTx, schema: string, caseId: string, given: boolean, givenBy?: string): Promise<void> {
  await db
    .withSchema(schema)
    .updateTable('case_facts')
    .set({ return_consent: given, return_consent_given_by: given ? (givenBy ?? 'person') : null, updated_at: new Date() })
    .where('case_id', '=', caseId)
    .execute();
}

export async function addParticipants(db: DbOrTx, schema: string, caseId: string, ps: Array<{ organisationId: string; purpose: string }>): Promise<void> {
  if (ps.length === 0) return;
  await db
    .withSchema(schema)
    .insertInto('case_participants')
    .values(ps.map((p) => ({ case_id: caseId, organisation_id: p.organisationId, purpose: p.purpose })))
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function removeParticipant(db: DbOrTx, schema: string, caseId: string, organisationId: string, purpose: string): Promise<void> {
  await db
    .withSchema(schema)
    .deleteFrom('case_participants')
    .where('case_id', '=', caseId)
    .where('organisation_id', '=', organisationId)
    .where('purpose', '=', purpose)
    .execute();
}

export async function addRiskFlag(db: DbOrTx, schema: string, f: { caseId: string; kind: string; level: string; raisedAt: string; raisedBy: string }): Promise<void> {
  await db
    .withSchema(schema)
    .insertInto('case_risk_flags')
    .values({ case_id: f.caseId, kind: f.kind, level: f.level, raised_at: f.raisedAt, raised_by: f.raisedBy })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/**
 * Whether repatriation has applied every event referrals holds for the case: the case-facts
 * consumer's position for the source stream `case-<caseId>` (repatriation's `consumer_streams`,
 * the last version applied) against referrals' own record of the stream, read through the
 * consumer's event source (referrals' `events` table: in the one database by default, PGlite or
 * one PostgreSQL cluster; a deployment splitting databases gives repatriation SELECT on it, as the
 * consumer already needs to fill gaps). The next version existing there means the facts lag.
 * Events referrals commits after this read are not seen: the consumer applies them (a withdrawal
 * then cancels the return).
 */
export async function caseFactsCurrent(db: DbOrTx, schema: string, source: EventSource, caseId: string, consumer = 'repatriation-case-facts'): Promise<boolean> {
  const streamId = `case-${caseId}`;
  const { rows } = await sql<{ version: number }>`
    select version from ${sql.table(`${schema}.consumer_streams`)}
    where consumer = ${consumer} and source = 'referrals' and stream_id = ${streamId}`.execute(db);
  const applied = rows[0]?.version ?? 0;
  const next = await source.read(db as never, 'referrals', [{ streamId, after: applied, upTo: applied + 1 }]);
  return next.length === 0;
}

export async function loadCaseFacts(db: DbOrTx, schema: string, caseId: string): Promise<CaseFacts | undefined> {
  const s = db.withSchema(schema);
  const row = await s.selectFrom('case_facts').selectAll().where('case_id', '=', caseId).executeTakeFirst();
  if (!row) return undefined;
  const participants = await s.selectFrom('case_participants').select(['organisation_id', 'purpose']).where('case_id', '=', caseId).execute();
  const flags = await s.selectFrom('case_risk_flags').select(['kind', 'raised_at']).where('case_id', '=', caseId).orderBy('raised_at').execute();
  return {
    caseId: row.case_id,
    notifyingOrganisationId: row.notifying_organisation_id,
    nationalContactPointIds: json<string[]>(row.national_contact_point_ids),
    regionalCentreId: row.regional_centre_id,
    participants: participants.map((p: { organisation_id: string; purpose: string }) => ({ organisationId: p.organisation_id, purpose: p.purpose })),
    returnConsent: row.return_consent,
    returnConsentGivenBy: row.return_consent_given_by ?? null,
    minor: row.minor,
    minorBasis: row.minor_basis ?? null,
    birthYear: row.birth_year,
    ageAtIdentification: row.age_at_identification,
    identificationDate: row.identification_date,
    notifiedAt: iso(row.notified_at),
    riskFlags: flags.map((f: { kind: string; raised_at: unknown }) => ({ kind: f.kind, raisedAt: iso(f.raised_at) })),
  };
}
