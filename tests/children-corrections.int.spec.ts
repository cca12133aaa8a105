import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, notification, startReferralsStack } from './support/stack.js';

/**
 * Issue 17 (children, who can be notified) and issue 18 (corrections) over HTTP: referrals on
 * real PostgreSQL and NATS. Each block is one rule as a partner meets it.
 */

let stack: Stack;
const tokens: Record<string, string> = {};
const NOW = new Date('2026-11-20T10:00:00.000Z');

beforeAll(async () => {
  stack = await startReferralsStack({ now: NOW, env: { TRM_DEADLINE_SCAN_SECONDS: '3600' } });
  tokens.ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  tokens.anitp = await stack.token('anitp', ['case_officer']);
  tokens.dgaspc = await stack.token('dgaspc-bucharest', ['child_protection_officer']);
  tokens.police = await stack.token('police-it', ['notifier', 'case_officer']);
});
afterAll(async () => stack?.close());

type Who = 'ngo' | 'anitp' | 'dgaspc' | 'police';
const call = (who: Who, method: 'GET' | 'POST', url: string, payload?: object) =>
  stack.app.inject({ method, url, headers: { authorization: `Bearer ${tokens[who]}` }, ...(payload ? { payload } : {}) });

async function eventCount(): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from referrals.events`.execute(stack.db);
  return Number(rows[0]!.n);
}
async function eventsOf(caseId: string): Promise<Array<{ type: string; data: Record<string, unknown> }>> {
  const { rows } = await sql<{ type: string; data: Record<string, unknown> }>`select event_type as type, data from referrals.events where stream_id = ${`case-${caseId}`} order by stream_version`.execute(stack.db);
  return rows;
}
async function notify(overrides: Record<string, unknown>): Promise<string> {
  const body = notification({ person: { givenName: 'Mihaela', familyName: 'Exemplu' }, ...overrides });
  const res = await call('ngo', 'POST', '/v1/cases', body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json().caseId;
}
const withoutAge = () => {
  const { age: _age, ...rest } = notification({ person: { givenName: 'Mihaela', familyName: 'Exemplu' } });
  return rest;
};
async function boardOf(who: Who): Promise<Array<{ caseId: string; kind: string; deadlineId: string }>> {
  const res = await call(who, 'GET', '/v1/deadlines?limit=100');
  expect(res.statusCode).toBe(200);
  return res.json().items;
}

describe('presumption of minority: a notification without age or birth year', () => {
  it('answers 201 as a presumed child, with child protection taking part and on its deadline board until it acknowledges', async () => {
    const res = await call('ngo', 'POST', '/v1/cases', withoutAge());
    expect(res.statusCode, res.body).toBe(201);
    const caseId = res.json().caseId;
    expect(res.json()).toMatchObject({ minor: true, minorBasis: 'presumed' });

    const ncp = (await call('anitp', 'GET', `/v1/cases/${caseId}`)).json();
    expect(ncp).toMatchObject({ minor: true, minorBasis: 'presumed', childProtection: { childProtectionOrgId: 'dgaspc-bucharest', acknowledgedBy: null, dueAt: '2026-11-21T10:00:00.000Z' } });
    expect(ncp.participants).toContainEqual({ organisationId: 'dgaspc-bucharest', purpose: 'child_protection' });

    const cpView = await call('dgaspc', 'GET', `/v1/cases/${caseId}`);
    expect(cpView.statusCode).toBe(200);
    expect(cpView.json()).toMatchObject({ view: 'child_protection', minor: true, minorBasis: 'presumed' });
    expect(await boardOf('dgaspc')).toContainEqual(expect.objectContaining({ caseId, kind: 'child_protection', deadlineId: 'child-protection' }));

    const ack = await call('dgaspc', 'POST', `/v1/cases/${caseId}/child-protection/acknowledgement`, {});
    expect(ack.statusCode, ack.body).toBe(200);
    expect((await boardOf('dgaspc')).some((d) => d.caseId === caseId)).toBe(false);
    const again = await call('dgaspc', 'POST', `/v1/cases/${caseId}/child-protection/acknowledgement`, {});
    expect([again.statusCode, again.json().code]).toEqual([409, 'child-protection-already-acknowledged']);
    expect((await call('anitp', 'POST', `/v1/cases/${caseId}/child-protection/acknowledgement`, {})).statusCode).toBe(403);
  });

  it('an approximate age presumes a child; the age assessment by child protection is the only way out', async () => {
    const caseId = await notify({ age: 25, ageApproximate: true });
    expect((await call('anitp', 'GET', `/v1/cases/${caseId}`)).json()).toMatchObject({ minor: true, minorBasis: 'presumed' });
    const before = await eventCount();
    const bad = await call('dgaspc', 'POST', `/v1/cases/${caseId}/age-assessment`, { method: 'x-ray', assessedOn: '2026-11-20', result: 'adult' });
    expect(bad.statusCode).toBe(400);
    expect((await call('anitp', 'POST', `/v1/cases/${caseId}/age-assessment`, { method: 'interview', assessedOn: '2026-11-20', result: 'adult' })).statusCode).toBe(403);
    expect(await eventCount()).toBe(before);
    const assessed = await call('dgaspc', 'POST', `/v1/cases/${caseId}/age-assessment`, { method: 'multidisciplinary', assessedOn: '2026-11-20', result: 'adult', estimatedAge: 24 });
    expect(assessed.statusCode, assessed.body).toBe(200);
    expect(assessed.json()).toMatchObject({ minor: false, minorBasis: null });
    expect((await call('anitp', 'GET', '/v1/cases?limit=100')).json().items.find((c: { caseId: string }) => c.caseId === caseId)).toMatchObject({ minor: false });
  });
});

describe('minor status follows the facts', () => {
  it('a birth date given later in an answer makes the case a child’s, with child protection joining and on its board', async () => {
    const caseId = await notify({ age: 24 });
    const asked = await call('anitp', 'POST', `/v1/cases/${caseId}/information-requests`, { requestedFrom: 'ngo-it', items: ['birthDate'] });
    expect(asked.statusCode, asked.body).toBe(201);
    const answered = await call('ngo', 'POST', `/v1/cases/${caseId}/information-requests/${asked.json().id}/answer`, { person: { birthDate: '2011-04-02' } });
    expect(answered.statusCode, answered.body).toBe(200);
    // Age 24 and born in 2011 disagree: presumed a child until child protection assesses the age.
    expect(answered.json()).toMatchObject({ minor: true, minorBasis: 'presumed' });
    expect(await boardOf('dgaspc')).toContainEqual(expect.objectContaining({ caseId, kind: 'child_protection' }));
    const provided = (await eventsOf(caseId)).find((e) => e.type === 'InformationProvided')!;
    expect(provided.data).toMatchObject({ birthYear: 2011, minor: true, minorBasis: 'presumed' });
    expect(JSON.stringify(provided.data)).not.toContain('2011-04-02');
  });
});

describe('who can be notified', () => {
  it('an XK citizen, a stateless person and an RO + MD citizen answer 201; an unknown code is 400 and writes nothing', async () => {
    const xk = await call('ngo', 'POST', '/v1/cases', notification({ citizenship: 'XK' }));
    expect(xk.statusCode, xk.body).toBe(201);
    expect(xk.json().attributes.citizenship).toBe('XK');
    const stateless = await call('ngo', 'POST', '/v1/cases', notification({ citizenship: 'stateless' }));
    expect(stateless.statusCode, stateless.body).toBe(201);
    const dual = await call('ngo', 'POST', '/v1/cases', notification({ citizenship: ['RO', 'MD'] }));
    expect(dual.statusCode, dual.body).toBe(201);
    expect(dual.json().attributes).toMatchObject({ citizenship: 'RO', citizenships: ['RO', 'MD'] });
    const before = await eventCount();
    const bad = await call('ngo', 'POST', '/v1/cases', notification({ citizenship: 'XX' }));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.some((e: { pointer: string }) => e.pointer.startsWith('/citizenship'))).toBe(true);
    const mixed = await call('ngo', 'POST', '/v1/cases', notification({ citizenship: ['RO', 'unknown'] }));
    expect([mixed.statusCode, mixed.json().code]).toEqual([422, 'invalid-notification']);
    expect(await eventCount()).toBe(before);
  });
});

describe('corrections (issue 18)', () => {
  it('a case notified with age 19 and corrected to birth year 2010 is a child’s case with child protection on its deadline board', async () => {
    const caseId = await notify({ age: 19 });
    expect((await call('dgaspc', 'GET', `/v1/cases/${caseId}`)).statusCode).toBe(404);
    const res = await call('anitp', 'POST', `/v1/cases/${caseId}/corrections`, {
      reason: 'document_verified',
      attributes: { birthYear: 2010, age: null },
      person: { familyName: 'Exemplescu' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ minor: true, minorBasis: 'declared', attributes: { birthYear: 2010, ageAtIdentification: null, ageBand: '14-17' } });
    expect(await boardOf('dgaspc')).toContainEqual(expect.objectContaining({ caseId, kind: 'child_protection' }));
    expect((await call('dgaspc', 'GET', `/v1/cases/${caseId}`)).json()).toMatchObject({ view: 'child_protection', minor: true });

    const events = await eventsOf(caseId);
    const corrected = events.find((e) => e.type === 'AttributesCorrected')!;
    expect(corrected.data).toMatchObject({
      correctedBy: 'anitp',
      reason: 'document_verified',
      changes: [{ attribute: 'birthYear', from: null, to: 2010 }, { attribute: 'ageAtIdentification', from: 19, to: null }],
      personalDataFields: ['familyName'],
      minor: true,
    });
    // Personal data corrected in the vault, named only by field in the event.
    expect(JSON.stringify(events)).not.toContain('Exemplescu');
    const read = await call('anitp', 'GET', `/v1/cases/${caseId}/personal-data?purpose=case_management`);
    expect(read.json().data.familyName).toBe('Exemplescu');
    expect(events.map((e) => e.type)).toEqual(['CaseNotified', 'AttributesCorrected', 'ChildProtectionRequested', 'ParticipantAdded']);
  });

  it('never makes a child an adult; the notifier corrects within the policy days; others may not; bad input writes nothing', async () => {
    const caseId = await notify({ age: 15 });
    const older = await call('anitp', 'POST', `/v1/cases/${caseId}/corrections`, { reason: 'data_entry_error', attributes: { age: 25 } });
    expect(older.statusCode, older.body).toBe(200);
    expect(older.json()).toMatchObject({ minor: true, minorBasis: 'presumed' });

    const byNotifier = await call('ngo', 'POST', `/v1/cases/${caseId}/corrections`, { reason: 'new_information', attributes: { citizenship: ['RO', 'MD'], sex: 'male' } });
    expect(byNotifier.statusCode, byNotifier.body).toBe(200);
    const before = await eventCount();
    expect((await call('police', 'POST', `/v1/cases/${caseId}/corrections`, { reason: 'other', attributes: { sex: 'female' } })).statusCode).toBe(404);
    const unknownField = await call('anitp', 'POST', `/v1/cases/${caseId}/corrections`, { reason: 'other', attributes: { name: 'x' } });
    expect(unknownField.statusCode).toBe(400);
    const nothing = await call('anitp', 'POST', `/v1/cases/${caseId}/corrections`, { reason: 'other', attributes: { sex: 'male' } });
    expect([nothing.statusCode, nothing.json().code, nothing.json().unmet]).toEqual([422, 'invalid-correction', ['correction-changes-nothing']]);
    stack.clock.now = new Date('2026-12-21T10:00:00.000Z');
    try {
      const late = await call('ngo', 'POST', `/v1/cases/${caseId}/corrections`, { reason: 'other', attributes: { sex: 'female' } });
      expect([late.statusCode, late.json().code, late.json().unmet]).toEqual([409, 'correction-refused', ['notifier-correction-period-over']]);
    } finally {
      stack.clock.now = NOW;
    }
    expect(await eventCount()).toBe(before);
  });
});

describe('consent and emergency assistance for a child', () => {
  it('refuses a child’s own consent, takes the guardian’s with the child’s views, and lets child protection refer to emergency shelter before consent', async () => {
    const caseId = await notify({ age: 14, recruiterRelation: 'family_member' });
    const before = await eventCount();
    const own = await call('ngo', 'POST', `/v1/cases/${caseId}/consents`, { purpose: 'assistance', givenOn: '2026-11-20' });
    expect([own.statusCode, own.json().code, own.json().unmet]).toEqual([409, 'child-consent-refused', ['consent-by-guardian-or-parent-required', 'child-views-not-recorded']]);
    const parent = await call('ngo', 'POST', `/v1/cases/${caseId}/consents`, { purpose: 'assistance', givenOn: '2026-11-20', givenBy: 'parent', childViews: 'agrees' });
    expect([parent.statusCode, parent.json().unmet]).toEqual([409, ['parent-not-allowed-family-involved']]);
    expect(await eventCount()).toBe(before);
    const emergency = await call('dgaspc', 'POST', `/v1/cases/${caseId}/service-referrals`, { service: 'shelter', providerOrganisationId: 'provider-shelter', emergency: true });
    expect(emergency.statusCode, emergency.body).toBe(201);
    const made = (await eventsOf(caseId)).find((e) => e.type === 'ServiceReferralMade')!;
    expect(made.data).toMatchObject({ service: 'shelter', madeBy: 'dgaspc-bucharest', emergency: true });
    const notEmergency = await call('dgaspc', 'POST', `/v1/cases/${caseId}/service-referrals`, { service: 'psychological', providerOrganisationId: 'provider-shelter', emergency: true });
    expect([notEmergency.statusCode, notEmergency.json().code]).toEqual([409, 'emergency-referral-refused']);
    const guardian = await call('ngo', 'POST', `/v1/cases/${caseId}/consents`, { purpose: 'assistance', givenOn: '2026-11-20', givenBy: 'guardian', childViews: 'mixed' });
    expect(guardian.statusCode, guardian.body).toBe(200);
  });
});
