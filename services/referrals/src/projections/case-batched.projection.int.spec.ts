import { type Db, createPgDb, migrate } from '@trm/db';
import type { RecordedEvent } from '@trm/event-store';
import { type TestDatabase, createTestDatabase } from '@trm/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectCaseEvents } from './case.projection.js';

let tdb: TestDatabase;
let db: Db;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = createPgDb(tdb.url, { max: 2, applicationName: 'trm-test-case-projection' }).db;
});
afterAll(async () => {
  await db?.destroy();
  await tdb?.drop();
});

const TABLES = ['cases', 'case_participants', 'case_deadlines'];
const at = (h: number) => new Date(Date.UTC(2026, 0, 1) + h * 3_600_000).toISOString();
let position = 0;
const versions = new Map<string, number>();

function ev(caseId: string, type: string, data: Record<string, unknown>, stream = `case-${caseId}`): RecordedEvent {
  position++;
  const v = (versions.get(stream) ?? 0) + 1;
  versions.set(stream, v);
  return {
    globalPosition: String(position), transactionId: '1', streamId: stream, streamVersion: v,
    eventId: `019a0000-0000-7000-8000-${String(position).padStart(12, '0')}`, type, schemaVersion: 1,
    data: { caseId, ...data }, metadata: {} as RecordedEvent['metadata'], recordedAt: at(position), prevHash: null, hash: 'x',
  };
}
const caseId = (i: number) => `019a0000-0000-7000-8000-${String(900000 + i).padStart(12, '0')}`;

/** Cases whose events interleave, spread over pages, touching every table and most event types. */
function history(): RecordedEvent[] {
  const out: RecordedEvent[] = [];
  for (let i = 0; i < 5; i++) {
    const c = caseId(i);
    out.push(ev(c, 'CaseNotified', {
      situation: 'identified_by_law_enforcement', notifyingOrganisationId: `ngo-${i}`, notifiedAt: at(i), acknowledgementDueAt: at(i + 48),
      minor: i % 2 === 0, nationalContactPointIds: ['anitp', `ncp-${i}`], sex: 'female', formsOfExploitation: ['forced_labour'],
    }));
    out.push(ev(c, 'PersonalDataAccessed', { purpose: 'x' }, `case-access-${c}`));
  }
  for (let i = 0; i < 5; i++) {
    const c = caseId(i);
    if (i !== 4) out.push(ev(c, 'NotificationAcknowledged', { acknowledgedBy: 'anitp', regionalCentreId: `rc-${i % 2}`, acknowledgedAt: at(i + 2), late: false }));
    out.push(ev(c, 'ParticipantAdded', { organisationId: 'iom', purpose: 'service_provider' }));
    out.push(ev(c, 'ParticipantAdded', { organisationId: 'iom', purpose: 'service_provider' }));
    out.push(ev(c, 'InformationRequested', { informationRequestId: `ir-${i}`, dueAt: at(100 + i), requestedFrom: 'iom' }));
    out.push(ev(c, 'ConsentRecorded', { scope: 'x' }));
  }
  for (let i = 0; i < 5; i++) {
    const c = caseId(i);
    if (i % 2 === 0) out.push(ev(c, 'InformationProvided', { informationRequestId: `ir-${i}`, ...(i === 4 ? { birthYear: 2011, minor: true, minorBasis: 'presumed', ageBand: '14-17' } : {}) }));
    else out.push(ev(c, 'DeadlineMissed', { deadlineId: `information-request:ir-${i}`, detectedAt: at(200) }));
    out.push(ev(c, 'ParticipantRemoved', { organisationId: 'iom', purpose: 'service_provider' }));
    if (i === 1) out.push(ev(c, 'ParticipantAdded', { organisationId: 'iom', purpose: 'service_provider' }));
    if (i === 2) {
      out.push(ev(c, 'ReflectionPeriodGranted', { periodNumber: 1, endsOn: '2026-03-01' }));
      out.push(ev(c, 'ReflectionPeriodEnded', { periodNumber: 1 }));
    }
    // Issue 17/18: child protection joining a child's case (the contact point chooses it), corrections, age assessments.
    if (i === 0) {
      out.push(ev(c, 'ChildProtectionRequested', { childProtectionOrgId: null, trigger: 'notification', requestedAt: at(300), dueAt: at(324) }));
      out.push(ev(c, 'ParticipantAdded', { organisationId: 'dgaspc', purpose: 'child_protection' }));
      out.push(ev(c, 'ChildProtectionAcknowledged', { acknowledgedBy: 'dgaspc', acknowledgedAt: at(301), late: false }));
    }
    if (i === 3 || i === 4) {
      out.push(ev(c, 'AttributesCorrected', {
        correctedBy: 'anitp', reason: 'data_entry_error', personalDataFields: [], minor: true, minorBasis: 'declared', ageBand: '14-17', correctedAt: at(310),
        changes: [{ attribute: 'situation', from: 'identified_by_law_enforcement', to: 'child_victim' }, { attribute: 'citizenship', from: ['RO'], to: ['RO', 'MD'] }, { attribute: 'birthYear', from: null, to: 2010 }],
      }));
      out.push(ev(c, 'AgeAssessed', { assessedBy: 'dgaspc', method: 'interview', assessedOn: '2026-01-05', result: 'child', estimatedAge: 15, ageBand: '14-17', minor: true }));
    }
    out.push(ev(c, 'CaseClosed', { reason: 'reintegrated' }));
    if (i % 2 === 1 || i === 4) out.push(ev(c, 'CaseReopened', { reason: 'new_needs' }));
    out.push(ev(c, 'VictimStatusDetermined', { status: 'actual' }));
  }
  return out;
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

describe('case projection, batched (rebuild path)', () => {
  it('leaves cases, participants and deadlines exactly as the inline projection does, whatever the page size', async () => {
    const events = history();
    await migrate(db, { schema: 'inline', service: 'referrals' });
    await db.transaction().execute((tx) => projectCaseEvents(tx, 'inline', events));
    const { rows } = await sql<{ status: string; n: string }>`select status, count(*)::text as n from inline.cases group by status order by status`.execute(db);
    expect(rows).toEqual([{ status: 'acknowledged', n: '2' }, { status: 'closed', n: '2' }, { status: 'notified', n: '1' }]);

    for (const size of [1, 2, 3, 7, 11, events.length]) {
      const schema = `batched_${size}`;
      await migrate(db, { schema, service: 'referrals' });
      for (let i = 0; i < events.length; i += size) {
        await db.transaction().execute((tx) => projectCaseEvents(tx, schema, events.slice(i, i + size), { batched: true }));
      }
      expect({ size, diff: await differences('inline', schema) }).toEqual({ size, diff: { cases: 0, case_participants: 0, case_deadlines: 0 } });
    }
  });

  it('fails where the inline projection fails: a case notified twice', async () => {
    const [notified] = history();
    await migrate(db, { schema: 'twice', service: 'referrals' });
    await expect(db.transaction().execute((tx) => projectCaseEvents(tx, 'twice', [notified!, { ...notified!, streamVersion: 2 }], { batched: true }))).rejects.toThrow();
    await db.transaction().execute((tx) => projectCaseEvents(tx, 'twice', [notified!], { batched: true }));
    await expect(db.transaction().execute((tx) => projectCaseEvents(tx, 'twice', [notified!], { batched: true }))).rejects.toThrow();
  });
});
