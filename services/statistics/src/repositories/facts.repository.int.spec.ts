import { type Db, createPgDb, migrate } from '@trm/db';
import { type TestDatabase, createTestDatabase } from '@trm/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACT_TABLES } from '../domain/fact-events.js';
import { type FoldEvent, applyEvent, applyEvents } from './facts.repository.js';

let tdb: TestDatabase;
let db: Db;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = createPgDb(tdb.url, { max: 2, applicationName: 'trm-test-facts' }).db;
});
afterAll(async () => {
  await db?.destroy();
  await tdb?.drop();
});

const TABLES = [...FACT_TABLES, 'watermarks', 'unparsed_events'];
let n = 0;
const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString();
function ev(service: string, type: string, data: unknown): FoldEvent {
  n++;
  return { service, type, eventId: `019a0000-0000-7000-8000-${String(n).padStart(12, '0')}`, recordedAt: at(n), globalPosition: String(n), data };
}
const notified = (caseId: string, i: number) => ({
  caseId, situation: 'identified_by_law_enforcement', notifyingOrganisationId: 'ngo-it', notifyingOrganisationType: 'ngo', countryOfIdentification: 'IT',
  countryOfExploitation: 'IT', identificationDate: '2026-01-01', formsOfExploitation: ['sexual_exploitation'], sex: i % 2 ? 'male' : 'female',
  ageAtIdentification: 20, birthYear: null, ageBand: '18-25', minor: false, citizenship: 'RO', traffickedAcrossBorders: true,
  recruiterRelation: 'friend_or_acquaintance', returnWanted: true, plannedReturnDate: '2026-12-10', nationalContactPointIds: ['anitp'],
  personalDataFields: [], notifiedAt: at(i), acknowledgementDueAt: at(i + 48),
});
const referral = (caseId: string, referralId: string) => ({ caseId, referralId, service: 'shelter', providerOrgId: null, madeBy: 'anitp', returnId: null, madeAt: at(1) });
const compensation = (caseId: string, claimId: string, decision: string, amount: string, paid: boolean) => ({
  caseId, criminalCaseId: 'k1', claimId, decision, awarded: { amount, currency: 'EUR' }, paid, decidedOn: '2026-05-01', recordedBy: 'u', recordedAt: at(1),
});

/** A history that touches rows before and after they exist, twice in a page, across pages. */
function history(): FoldEvent[] {
  const out: FoldEvent[] = [];
  for (let i = 0; i < 6; i++) {
    const c = `c${i}`;
    // An update before the row exists changes nothing, in any page layout.
    out.push(ev('referrals', 'CaseClosed', { caseId: c, reason: 'declined_assistance', closedBy: 'anitp', closedAt: at(1) }));
    out.push(ev('referrals', 'CaseNotified', notified(c, i)));
    out.push(ev('referrals', 'CaseNotified', notified(c, i + 100))); // a redelivery: the first insert wins
    out.push(ev('referrals', 'NotificationAcknowledged', { caseId: c, acknowledgedBy: 'anitp', keyContactId: 'k', alternateContactId: 'a', regionalCentreId: `rc-${i}`, acknowledgedAt: at(i + 2), late: i % 2 === 0 }));
    out.push(ev('referrals', 'ServiceReferralMade', referral(c, `r${i}`)));
    out.push(ev('referrals', i % 2 ? 'ServiceReferralAccepted' : 'ServiceReferralDeclined', { caseId: c, referralId: `r${i}` }));
    out.push(ev('referrals', 'PersonalDataAccessed', {}));
    out.push(ev('referrals', 'VictimStatusDetermined', { caseId: c, status: 'nonsense', deciderBodyType: 'court', determinedOn: '2026-11-20', recordedBy: 'anitp' }));
    out.push(ev('proceedings', 'CompensationDecided', compensation(c, `m${i}`, 'awarded', '100.50', false)));
    out.push(ev('proceedings', 'CompensationDecided', compensation(c, `m${i}`, 'awarded', '100.50', true)));
    if (i % 3 === 0) out.push(ev('referrals', 'CaseClosed', { caseId: c, reason: 'declined_assistance', closedBy: 'anitp', closedAt: at(1) }));
    if (i % 3 === 0) out.push(ev('referrals', 'CaseReopened', { caseId: c, reason: 'new_needs', reopenedBy: 'anitp', reopenedAt: at(1) }));
    out.push(ev('referrals', 'ServiceReferralClosed', { caseId: c, referralId: `r${i}` }));
  }
  out.push(ev('referrals', 'CaseClosed', { caseId: 'c1', reason: 'lost_contact', closedBy: 'anitp', closedAt: at(1) }));
  return out;
}

async function freshSchema(schema: string): Promise<void> {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
  await migrate(db, { schema, service: 'statistics' });
}

async function differences(a: string, b: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) {
    const { rows } = await sql<{ n: string }>`select
        (select count(*) from (select * from ${sql.id(a, t)} except all select * from ${sql.id(b, t)}) x) +
        (select count(*) from (select * from ${sql.id(b, t)} except all select * from ${sql.id(a, t)}) y) as n`.execute(db);
    out[t] = Number(rows[0]!.n);
  }
  return out;
}

describe('batched fold (applyEvents)', () => {
  it('leaves the fact tables exactly as applyEvent one event at a time does, whatever the page size', async () => {
    const events = history();
    await freshSchema('one_by_one');
    await db.transaction().execute(async (tx) => {
      for (const e of events) await applyEvent(tx, 'one_by_one', e);
    });
    // The history reaches every kind of change: closed and still-open cases, one unparsed type per case.
    const { rows } = await sql<{ closed: string; cases: string; unparsed: string[] }>`select
        (select count(*) from one_by_one.case_facts where closed_reason is not null)::text as closed,
        (select count(*) from one_by_one.case_facts)::text as cases,
        (select array_agg(distinct event_type || ':' || issues) from one_by_one.unparsed_events) as unparsed`.execute(db);
    expect(rows[0]).toEqual({ closed: '1', cases: '6', unparsed: ['VictimStatusDetermined:status'] });

    for (const size of [1, 2, 3, 5, 7, 13, events.length]) {
      const schema = `paged_${size}`;
      await freshSchema(schema);
      for (let i = 0; i < events.length; i += size) {
        await db.transaction().execute((tx) => applyEvents(tx, schema, events.slice(i, i + size)));
      }
      const diff = await differences('one_by_one', schema);
      expect({ size, diff }).toEqual({ size, diff: Object.fromEntries(TABLES.map((t) => [t, 0])) });
    }
    const counts = await sql<{ n: string }>`select count(*)::text as n from one_by_one.compensation_facts where paid`.execute(db);
    expect(Number(counts.rows[0]!.n)).toBe(6);
  });
});
