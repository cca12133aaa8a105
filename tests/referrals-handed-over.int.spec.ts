import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendSourceEvent } from './support/source-events.js';
import { type Stack, notification, startReferralsStack } from './support/stack.js';

let stack: Stack;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  stack = await startReferralsStack({ env: { TRM_DEADLINE_SCAN_SECONDS: '3600' } });
  tokens.ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  tokens.anitp = await stack.token('anitp', ['case_officer']);
  tokens.shelter = await stack.token('provider-shelter', ['service_provider']);
});
afterAll(async () => stack?.close());

const call = (who: string, method: 'GET' | 'POST', url: string, payload?: object) =>
  stack.app.inject({ method, url, headers: { authorization: `Bearer ${tokens[who]}` }, ...(payload ? { payload } : {}) });

/** What the repatriation service records when a person has arrived and is handed over. */
async function handOver(caseId: string, services: string[]): Promise<void> {
  await appendSourceEvent(stack.db, stack.bus, {
    service: 'repatriation',
    streamId: `return-${caseId}`,
    type: 'HandedOverToAssistance',
    data: { caseId, returnId: 'ret-0001', receivingOrganisationId: 'anitp-rc-bucharest', services, handedOverAt: new Date().toISOString() },
    organisation: 'iom-it',
    actor: 'user-of-iom',
    relays: stack.relays,
  });
}

describe('HandedOverToAssistance from repatriation', () => {
  it('creates one unassigned service referral per service; the contact point assigns providers through the gates', async () => {
    const caseId = (await call('ngo', 'POST', '/v1/cases', notification())).json().caseId;
    await handOver(caseId, ['shelter', 'medical']);

    let referrals: Array<{ referralId: string; service: string; providerOrgId: string | null; returnId: string }> = [];
    const deadline = Date.now() + 20_000;
    while (referrals.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      referrals = (await call('anitp', 'GET', `/v1/cases/${caseId}`)).json().referrals;
    }
    expect(referrals.map((r) => [r.service, r.providerOrgId, r.returnId])).toEqual([
      ['shelter', null, 'ret-0001'],
      ['medical', null, 'ret-0001'],
    ]);
    const timeline = (await call('anitp', 'GET', `/v1/cases/${caseId}/timeline`)).json();
    expect(timeline.entries.at(-1)).toMatchObject({ type: 'ServiceReferralMade', organisationId: 'iom-it', actor: 'system:referrals-on-handed-over' });

    const shelterReferral = referrals[0]!.referralId;
    const refused = await call('anitp', 'POST', `/v1/cases/${caseId}/service-referrals/${shelterReferral}/assignment`, { providerOrganisationId: 'provider-shelter' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().unmet.sort()).toEqual(['consent-for-assistance-missing', 'consent-for-sharing-with-provider-missing']);

    await call('anitp', 'POST', `/v1/cases/${caseId}/consents`, { purpose: 'assistance', givenOn: '2026-11-20' });
    await call('anitp', 'POST', `/v1/cases/${caseId}/consents`, { purpose: 'sharing', sharingWith: 'provider-shelter', givenOn: '2026-11-20' });
    const assigned = await call('anitp', 'POST', `/v1/cases/${caseId}/service-referrals/${shelterReferral}/assignment`, { providerOrganisationId: 'provider-shelter' });
    expect(assigned.statusCode).toBe(200);
    const provider = (await call('shelter', 'GET', `/v1/cases/${caseId}`)).json();
    expect(provider.referrals.map((r: { referralId: string }) => r.referralId)).toEqual([shelterReferral]);
  });

  it('reopens a case closed meanwhile instead of dead-lettering the hand-over (issue 17)', async () => {
    const caseId = (await call('ngo', 'POST', '/v1/cases', notification())).json().caseId;
    const closed = await call('anitp', 'POST', `/v1/cases/${caseId}/closure`, { reason: 'lost_contact' });
    expect(closed.statusCode, closed.body).toBe(200);
    await handOver(caseId, ['shelter']);
    let view = (await call('anitp', 'GET', `/v1/cases/${caseId}`)).json();
    const deadline = Date.now() + 20_000;
    while (view.referrals.length < 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      view = (await call('anitp', 'GET', `/v1/cases/${caseId}`)).json();
    }
    expect(view.status).not.toBe('closed');
    expect(view.referrals.map((r: { service: string; returnId: string }) => [r.service, r.returnId])).toEqual([['shelter', 'ret-0001']]);
    const timeline = (await call('anitp', 'GET', `/v1/cases/${caseId}/timeline`)).json();
    expect(timeline.entries.map((e: { type: string }) => e.type).slice(-2)).toEqual(['CaseReopened', 'ServiceReferralMade']);
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from referrals.dead_letters where consumer = 'referrals-on-handed-over' and resolved_at is null`.execute(stack.db);
    expect(rows[0]!.n).toBe('0');
  });
});
