import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repatriationModule } from '@trm/repatriation';
import { ReferralsFeed, eventually } from '../services/repatriation/test-support/referrals-facts.js';
import { type Stack, startStack } from './support/stack.js';

/**
 * Issue 17 across services: repatriation alone on PostgreSQL and JetStream, fed referrals events
 * from referrals' events table. A correction that makes the person a child, or a presumed
 * child's notification, gives the return every child safeguard; a family assessed not suitable
 * stops it unless child protection places the child at arrival.
 */
let stack: Stack;
let feed: ReferralsFeed;
const t: Record<string, string> = {};

beforeAll(async () => {
  stack = await startStack({ modules: [repatriationModule], now: new Date('2026-11-20T10:00:00.000Z') });
  feed = new ReferralsFeed(stack.db, stack.bus);
  t.ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  t.anitp = await stack.token('anitp', ['case_officer']);
  t.dgaspc = await stack.token('dgaspc-bucharest', ['child_protection_officer']);
});
afterAll(async () => stack?.close());

const post = (token: string | undefined, url: string, payload: object) => stack.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, payload });
const get = (token: string | undefined, url: string) => stack.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
async function minorOf(caseId: string) {
  const { rows } = await sql<{ minor: boolean; minor_basis: string | null; birth_year: number | null }>`
    select minor, minor_basis, birth_year from repatriation.case_facts where case_id = ${caseId}`.execute(stack.db);
  return rows[0];
}

async function caseWithReturn(over: Record<string, unknown> = {}, schemaVersion?: number): Promise<{ caseId: string; returnId: string }> {
  const caseId = randomUUID();
  await feed.notified(caseId, over, schemaVersion);
  await feed.acknowledged(caseId);
  await feed.participant(caseId, 'dgaspc-bucharest', 'child_protection', 'child_protection');
  await feed.consent(caseId);
  await eventually(async () => (await sql<{ c: boolean }>`select return_consent as c from repatriation.case_facts where case_id = ${caseId}`.execute(stack.db)).rows[0]?.c === true, 'case facts');
  const res = await post(t.ngo, '/v1/returns', { caseId, plannedDepartureDate: '2026-12-10', needs: ['shelter'], escortRequired: false, travelDocumentNeeded: false });
  expect(res.statusCode, res.body).toBe(201);
  return { caseId, returnId: res.json().returnId };
}
const unmetOf = async (returnId: string): Promise<string[]> => (await get(t.anitp, `/v1/returns/${returnId}`)).json().departureUnmet;

describe('minority in referrals reaches the return', () => {
  it('a case notified at 19 and corrected to birth year 2010 needs every child safeguard before departure', async () => {
    const { caseId, returnId } = await caseWithReturn({ ageAtIdentification: 19 });
    expect(await unmetOf(returnId)).not.toContain('guardian-not-appointed');
    await feed.publish('AttributesCorrected', {
      caseId,
      correctedBy: 'anitp',
      reason: 'document_verified',
      changes: [{ attribute: 'birthYear', from: null, to: 2010 }, { attribute: 'ageAtIdentification', from: 19, to: null }],
      personalDataFields: [],
      minor: true,
      minorBasis: 'declared',
      ageBand: '14-17',
      correctedAt: '2026-11-20T10:00:00.000Z',
    });
    await eventually(async () => (await minorOf(caseId))?.minor === true, 'the correction');
    expect(await minorOf(caseId)).toEqual({ minor: true, minor_basis: 'declared', birth_year: 2010 });
    expect(await unmetOf(returnId)).toEqual(expect.arrayContaining(['guardian-not-appointed', 'best-interests-determination-missing', 'family-assessment-missing']));
  });

  it('a presumed child (no age) is a child until child protection’s age assessment says adult', async () => {
    const { caseId, returnId } = await caseWithReturn({ ageAtIdentification: null, ageBand: null, minor: true, minorBasis: 'presumed', addressedTo: 'anitp', internationalProtectionSought: false, fearsAuthoritiesOf: [] }, 2);
    await eventually(async () => (await minorOf(caseId))?.minor_basis === 'presumed', 'presumed');
    expect(await unmetOf(returnId)).toContain('guardian-not-appointed');
    await feed.publish('AgeAssessed', { caseId, assessedBy: 'dgaspc-bucharest', method: 'multidisciplinary', assessedOn: '2026-11-20', result: 'adult', estimatedAge: 22, ageBand: '18-25', minor: false });
    await eventually(async () => (await minorOf(caseId))?.minor_basis === 'assessed', 'assessed');
    expect(await unmetOf(returnId)).not.toContain('guardian-not-appointed');
  });

  it('a family assessed not suitable stops departure unless child protection places the child at arrival (HTTP)', async () => {
    const { returnId } = await caseWithReturn({ ageAtIdentification: 15, ageBand: '14-17', minor: true });
    const r = `/v1/returns/${returnId}`;
    expect((await post(t.dgaspc, `${r}/family-assessment`, { assessedOn: '2026-11-20', outcome: 'not_suitable' })).statusCode).toBe(200);
    expect(await unmetOf(returnId)).toContain('family-not-suitable-without-placement');
    const bad = await post(t.dgaspc, `${r}/family-assessment`, { assessedOn: '2026-11-20', outcome: 'suitable', placementOrganisationId: 'dgaspc-bucharest' });
    expect([bad.statusCode, bad.json().code]).toEqual([422, 'invalid-family-assessment']);
    const placed = await post(t.dgaspc, `${r}/family-assessment`, { assessedOn: '2026-11-20', outcome: 'not_suitable', placementOrganisationId: 'dgaspc-bucharest' });
    expect(placed.statusCode, placed.body).toBe(200);
    expect(await unmetOf(returnId)).not.toContain('family-not-suitable-without-placement');
  });
});
