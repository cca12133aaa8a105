import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, notification, startReferralsStack } from './support/stack.js';

let stack: Stack;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  stack = await startReferralsStack({ now: new Date('2026-11-20T10:00:00.000Z'), env: { TRM_DEADLINE_SCAN_SECONDS: '3600' } });
  tokens.ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  tokens.anitp = await stack.token('anitp', ['case_officer']);
  tokens.shelter = await stack.token('provider-shelter', ['service_provider']);
  tokens.dgaspc = await stack.token('dgaspc-bucharest', ['child_protection_officer']);
  tokens.consulate = await stack.token('consulate-ro-it', ['consular_officer']);
});
afterAll(async () => stack?.close());

type Who = 'ngo' | 'anitp' | 'shelter' | 'dgaspc' | 'consulate';
const call = (who: Who, method: 'GET' | 'POST', url: string, payload?: object, headers: Record<string, string> = {}) =>
  stack.app.inject({ method, url, headers: { authorization: `Bearer ${tokens[who]}`, ...headers }, ...(payload ? { payload } : {}) });

async function newCase(overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await call('ngo', 'POST', '/v1/cases', notification({ person: { givenName: 'Ana', familyName: 'Example', contacts: { phone: '+39 333 000 0000' } }, ...overrides }));
  expect(res.statusCode).toBe(201);
  return res.json().caseId;
}
async function eventCount(): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from referrals.events`.execute(stack.db);
  return Number(rows[0]!.n);
}
const consent = (caseId: string, purpose: string, sharingWith?: string, child = false) =>
  call('anitp', 'POST', `/v1/cases/${caseId}/consents`, { purpose, ...(sharingWith ? { sharingWith } : {}), givenOn: '2026-11-20', ...(child ? { givenBy: 'guardian', childViews: 'agrees' } : {}) });
const refer = (caseId: string, service = 'shelter') => call('anitp', 'POST', `/v1/cases/${caseId}/service-referrals`, { service, providerOrganisationId: 'provider-shelter' });

describe('service referral gates', () => {
  it('refuses with 409 naming every unmet condition, and writes nothing', async () => {
    const caseId = await newCase({ age: 16 });
    const before = await eventCount();
    const res = await refer(caseId);
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().code).toBe('service-referral-refused');
    // Child protection joined the child's case at notification (routing policy, issue 17): the consents are missing.
    expect(res.json().unmet.sort()).toEqual(['consent-for-assistance-missing', 'consent-for-sharing-with-provider-missing']);
    expect(await eventCount()).toBe(before);
  });

  it('refers once consents and child protection are in place; the provider then sees only its referral', async () => {
    const caseId = await newCase({ age: 16 });
    expect((await consent(caseId, 'assistance', undefined, true)).statusCode).toBe(200);
    expect((await consent(caseId, 'sharing', 'provider-shelter', true)).statusCode).toBe(200);
    expect((await call('anitp', 'POST', `/v1/cases/${caseId}/participants`, { organisationId: 'dgaspc-bucharest', purpose: 'child_protection' })).statusCode).toBe(200);
    expect((await call('shelter', 'GET', `/v1/cases/${caseId}`)).statusCode).toBe(404);
    const made = await refer(caseId);
    expect(made.statusCode).toBe(201);
    const referralId = made.json().id;
    expect(made.json().case.referrals.map((r: { referralId: string }) => r.referralId)).toEqual([referralId]);

    const seen = await call('shelter', 'GET', `/v1/cases/${caseId}`);
    expect(seen.statusCode).toBe(200);
    const view = seen.json();
    expect(view.view).toBe('service_provider');
    expect(Object.keys(view).sort()).toEqual(['caseId', 'contactDataAvailable', 'minor', 'minorBasis', 'referrals', 'status', 'version', 'view']);
    expect(view.contactDataAvailable).toBe(true);

    const cp = (await call('dgaspc', 'GET', `/v1/cases/${caseId}`)).json();
    expect(cp.view).toBe('child_protection');
    // The child's services, not who provides them: child protection does not work with that provider (docs/ACCESS.md).
    expect(cp.referrals[0]).toEqual({ referralId, service: 'shelter', status: 'made' });
    expect(cp).not.toHaveProperty('consents');
    expect(cp.attributes).not.toHaveProperty('recruiterRelation');
  });

  it('takes If-Match: a stale ETag is 412 and writes nothing', async () => {
    const caseId = await newCase();
    const before = await eventCount();
    const res = await call('anitp', 'POST', `/v1/cases/${caseId}/consents`, { purpose: 'assistance', givenOn: '2026-11-20' }, { 'if-match': '"9"' });
    expect(res.statusCode).toBe(412);
    expect(await eventCount()).toBe(before);
  });
});

describe('consent withdrawal', () => {
  it('closes the referral and refuses the provider’s next personal-data read at once', async () => {
    const caseId = await newCase();
    await consent(caseId, 'assistance');
    await consent(caseId, 'sharing', 'provider-shelter');
    const referralId = (await refer(caseId)).json().id;
    expect((await call('shelter', 'POST', `/v1/cases/${caseId}/service-referrals/${referralId}/acceptance`, {})).statusCode).toBe(200);

    const read = await call('shelter', 'GET', `/v1/cases/${caseId}/personal-data?purpose=assistance`);
    expect(read.statusCode).toBe(200);
    expect(Object.keys(read.json().data).sort()).toEqual(['contacts', 'familyName', 'givenName']);

    const withdrawn = await call('ngo', 'POST', `/v1/cases/${caseId}/consents/withdrawal`, { purpose: 'sharing', sharingWith: 'provider-shelter', withdrawnOn: '2026-11-20' });
    expect(withdrawn.statusCode).toBe(200);

    const refused = await call('shelter', 'GET', `/v1/cases/${caseId}/personal-data?purpose=assistance`);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('consent-required');
    expect(refused.body).not.toContain('Ana');
    const view = (await call('shelter', 'GET', `/v1/cases/${caseId}`)).json();
    expect(view.referrals[0]).toMatchObject({ status: 'closed', closeReason: 'consent_withdrawn' });
    expect(view.contactDataAvailable).toBe(false);
  });

  it('refuses personal data to a participant without consent to share with it', async () => {
    const caseId = await newCase();
    await call('anitp', 'POST', `/v1/cases/${caseId}/participants`, { organisationId: 'consulate-ro-it', purpose: 'travel_documents' });
    const res = await call('consulate', 'GET', `/v1/cases/${caseId}/personal-data?purpose=travel_documents`);
    expect(res.statusCode).toBe(403);
    expect(res.json().unmet).toEqual(['consent-for-sharing-missing']);
    const view = (await call('consulate', 'GET', `/v1/cases/${caseId}`)).json();
    expect(view).toEqual({ view: 'participant', caseId, version: expect.any(Number), status: 'notified', minor: false, minorBasis: null, purposes: ['travel_documents'] });
  });
});

describe('provider work', () => {
  it('records assistance with cost and currency, refuses a bad amount (400) and another provider’s referral (404)', async () => {
    const caseId = await newCase();
    await consent(caseId, 'assistance');
    await consent(caseId, 'sharing', 'provider-shelter');
    const referralId = (await refer(caseId)).json().id;
    const url = `/v1/cases/${caseId}/service-referrals/${referralId}`;
    expect((await call('shelter', 'POST', `${url}/assistance`, { periodFrom: '2026-11-19', periodTo: '2026-11-20', cost: { amount: '10.00', currency: 'EUR' } })).json().code).toBe(
      'service-referral-not-open',
    );
    await call('shelter', 'POST', `${url}/acceptance`, {});
    const bad = await call('shelter', 'POST', `${url}/assistance`, { periodFrom: '2026-11-19', periodTo: '2026-11-20', cost: { amount: '10.123', currency: 'EURO' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/cost/amount', '/cost/currency']);
    const ok = await call('shelter', 'POST', `${url}/assistance`, { periodFrom: '2026-11-19', periodTo: '2026-11-20', cost: { amount: '1250.50', currency: 'RON' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().referrals[0].deliveries).toEqual([{ periodFrom: '2026-11-19', periodTo: '2026-11-20', cost: { amount: '1250.50', currency: 'RON' } }]);
    expect((await call('shelter', 'POST', `${url}/closure`, { reason: 'completed' })).json().referrals[0].status).toBe('closed');
    expect((await call('dgaspc', 'POST', `${url}/acceptance`, {})).statusCode).toBe(403);
  });
});

describe('closed case', () => {
  it('refuses changes with 409 case-closed until reopened', async () => {
    const caseId = await newCase();
    expect((await call('anitp', 'POST', `/v1/cases/${caseId}/closure`, { reason: 'declined_assistance' })).json().status).toBe('closed');
    const before = await eventCount();
    const refused = await call('ngo', 'POST', `/v1/cases/${caseId}/risk-flags`, { kind: 'threat', level: 'high' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'case-closed', unmet: ['case-closed'] });
    expect(await eventCount()).toBe(before);
    expect((await call('anitp', 'POST', `/v1/cases/${caseId}/reopening`, { reason: 'new_needs' })).json().status).toBe('notified');
    expect((await call('ngo', 'POST', `/v1/cases/${caseId}/risk-flags`, { kind: 'threat', level: 'high' })).statusCode).toBe(200);
  });
});

describe('information requests, reflection period, victim status', () => {
  it('derives completeness from the answer, which goes to the vault and not the event', async () => {
    const caseId = await newCase();
    const asked = await call('anitp', 'POST', `/v1/cases/${caseId}/information-requests`, { requestedFrom: 'ngo-it', items: ['birthDate', 'documents'] });
    expect(asked.statusCode).toBe(201);
    expect(asked.json().case.completeness).toEqual({ presentItems: ['contacts', 'familyName', 'givenName'], missingItems: ['birthDate', 'documents', 'narrative'], score: 50 });
    const requestId = asked.json().id;
    const answered = await call('ngo', 'POST', `/v1/cases/${caseId}/information-requests/${requestId}/answer`, {
      person: { birthDate: '2001-02-03', documents: [{ kind: 'passport', number: 'PPSECRET77', issuingCountry: 'RO' }] },
    });
    expect(answered.statusCode).toBe(200);
    expect(answered.json().completeness).toEqual({ presentItems: ['birthDate', 'contacts', 'documents', 'familyName', 'givenName'], missingItems: ['narrative'], score: 83 });
    const { rows } = await sql<{ t: string }>`select data::text as t from referrals.events where stream_id = ${`case-${caseId}`}`.execute(stack.db);
    expect(rows.map((r) => r.t).join('')).not.toContain('PPSECRET77');
    const data = (await call('anitp', 'GET', `/v1/cases/${caseId}/personal-data?purpose=case_management`)).json().data;
    expect(data.documents[0].number).toBe('PPSECRET77');
    expect((await call('anitp', 'POST', `/v1/cases/${caseId}/information-requests/${requestId}/answer`, { person: { narrative: 'x' } })).statusCode).toBe(403);
  });

  it('grants 30 to 90 days (policy) and refuses the rest with 422', async () => {
    const caseId = await newCase();
    const refused = await call('anitp', 'POST', `/v1/cases/${caseId}/reflection-period`, { startsOn: '2026-11-20', days: 20 });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().unmet).toEqual(['reflection-period-below-minimum']);
    expect((await call('anitp', 'POST', `/v1/cases/${caseId}/reflection-period`, { startsOn: '2026-11-20', days: 91 })).json().unmet).toEqual(['reflection-period-above-maximum']);
    const granted = await call('anitp', 'POST', `/v1/cases/${caseId}/reflection-period`, { startsOn: '2026-11-20', days: 30 });
    expect(granted.json().reflectionPeriod).toMatchObject({ startsOn: '2026-11-20', endsOn: '2026-12-19', endingSoon: false });
    const status = await call('anitp', 'POST', `/v1/cases/${caseId}/victim-status`, { status: 'actual', deciderBodyType: 'prosecutor', determinedOn: '2026-11-20' });
    expect(status.json().victimStatus).toEqual({ status: 'actual', deciderBodyType: 'prosecutor', determinedOn: '2026-11-20' });
    const notifierView = (await call('ngo', 'GET', `/v1/cases/${caseId}`)).json();
    expect(notifierView.view).toBe('notifier');
    expect(notifierView.victimStatus.status).toBe('actual');
    expect(notifierView).not.toHaveProperty('consents');
    expect(notifierView).not.toHaveProperty('referrals');
  });
});

describe('timeline', () => {
  it('lists every event in order with who did what; details and reads only where the purpose allows', async () => {
    const caseId = await newCase();
    await consent(caseId, 'assistance');
    await consent(caseId, 'sharing', 'provider-shelter');
    await refer(caseId);
    await call('anitp', 'GET', `/v1/cases/${caseId}/personal-data?purpose=case_management`);
    const full = (await call('anitp', 'GET', `/v1/cases/${caseId}/timeline`)).json();
    expect(full.entries.map((e: { type: string }) => e.type)).toEqual(['CaseNotified', 'ConsentRecorded', 'ConsentRecorded', 'ServiceReferralMade', 'ParticipantAdded', 'PersonalDataAccessed']);
    expect(full.entries[1]).toMatchObject({ organisationId: 'anitp', actor: 'user-of-anitp', data: { purpose: 'assistance' } });
    const positions = full.entries.map((e: { position: string }) => BigInt(e.position));
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);

    const provider = (await call('shelter', 'GET', `/v1/cases/${caseId}/timeline`)).json();
    expect(provider.entries.map((e: { type: string }) => e.type)).not.toContain('PersonalDataAccessed');
    const withData = provider.entries.filter((e: { data?: unknown }) => e.data).map((e: { type: string }) => e.type);
    // What concerns the provider: the consent to share with it, its referral, its own participation.
    expect(withData).toEqual(['ConsentRecorded', 'ServiceReferralMade', 'ParticipantAdded']);
    expect(provider.entries.every((e: object) => !('actor' in e))).toBe(true);
  });
});

describe('erasure', () => {
  it('shreds the vault key and records the event; reads then say erased', async () => {
    const caseId = await newCase();
    const res = await call('anitp', 'POST', `/v1/cases/${caseId}/personal-data/erasure`, { reason: 'subject_request' });
    expect(res.statusCode).toBe(200);
    expect(res.json().personalDataErasedAt).toBeDefined();
    const read = await call('ngo', 'GET', `/v1/cases/${caseId}/personal-data?purpose=case_management`);
    expect(read.json()).toMatchObject({ status: 'erased' });
    expect(read.json()).not.toHaveProperty('data');
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from referrals.vault_fields where subject_id = ${caseId}`.execute(stack.db);
    expect(rows[0]!.n).toBe('0');
  });
});
