import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referralsModule } from '@trm/referrals';
import { repatriationModule } from '@trm/repatriation';
import { eventually } from '../services/repatriation/test-support/referrals-facts.js';
import { type Stack, notification, startStack } from './support/stack.js';

/**
 * Whole returns across both services on real PostgreSQL and JetStream: the case lives in
 * referrals (HTTP), repatriation learns it from referrals events on NATS, and the hand-over
 * travels back over NATS to become service referrals in referrals.
 */
let stack: Stack;
const t: Record<string, string> = {};
const start = new Date('2026-11-20T10:00:00.000Z');

beforeAll(async () => {
  stack = await startStack({ modules: [referralsModule, repatriationModule], now: start });
  t.ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  t.anitp = await stack.token('anitp', ['case_officer']);
  t.consulate = await stack.token('consulate-ro-it', ['consular_officer']);
  t.iom = await stack.token('iom-it', ['notifier', 'case_officer']);
  t.dgaspc = await stack.token('dgaspc-bucharest', ['child_protection_officer']);
});
afterAll(async () => stack?.close());

async function post(token: string | undefined, url: string, payload: object) {
  const res = await stack.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, payload });
  return res;
}

async function ok(token: string | undefined, url: string, payload: object) {
  const res = await post(token, url, payload);
  expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(300);
  return res.json();
}

/** Notified in referrals, acknowledged, the consulate (and child protection) taking part, consent to return. */
async function caseInReferrals(opts: { child: boolean }): Promise<string> {
  const body = opts.child ? notification({ situation: 'child_victim', age: 15 }) : notification();
  const { caseId } = await ok(t.ngo, '/v1/cases', body);
  await ok(t.anitp, `/v1/cases/${caseId}/acknowledgement`, { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', regionalCentreId: 'anitp-rc-bucharest' });
  await ok(t.anitp, `/v1/cases/${caseId}/participants`, { organisationId: 'consulate-ro-it', purpose: 'travel_documents' });
  await ok(t.anitp, `/v1/cases/${caseId}/participants`, { organisationId: 'iom-it', purpose: 'return' });
  if (opts.child) await ok(t.anitp, `/v1/cases/${caseId}/participants`, { organisationId: 'dgaspc-bucharest', purpose: 'child_protection' });
  // A child's consent: the appointed guardian's, with the child's views (issue 17).
  await ok(t.ngo, `/v1/cases/${caseId}/consents`, { purpose: 'return', givenOn: '2026-11-19', ...(opts.child ? { givenBy: 'guardian', childViews: 'agrees' } : {}) });
  const expected = ['anitp', 'anitp-rc-bucharest', 'consulate-ro-it', 'iom-it', 'ngo-it', ...(opts.child ? ['dgaspc-bucharest'] : [])];
  await eventually(async () => {
    const { rows } = await sql<{ n: string; consent: boolean }>`
      select (select count(distinct p.organisation_id) from repatriation.case_participants p
              where p.case_id = f.case_id and p.organisation_id in (${sql.join(expected)}))::text as n,
             f.return_consent as consent
      from repatriation.case_facts f where f.case_id = ${caseId}`.execute(stack.db);
    return rows[0] && rows[0].consent && Number(rows[0].n) === expected.length;
  }, 'repatriation to learn the case from NATS');
  return caseId;
}

/** Everything an adult's departure needs, by the party whose step it is. */
async function prepare(returnId: string, opts: { escort: string | null; receivingOrganisationId: string; receiver: string | undefined }) {
  const r = `/v1/returns/${returnId}`;
  await ok(t.anitp, `${r}/acknowledgement`, { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa' });
  await ok(t.iom, `${r}/risk-assessments`, { assessedOn: '2026-11-20', level: 'medium', factors: ['no_income'], recommendation: 'proceed_with_measures', measures: ['shelter_on_arrival'] });
  // The origin's assessment governs the return: departure needs it.
  await ok(t.anitp, `${r}/risk-assessments`, { assessedOn: '2026-11-20', level: 'medium', factors: ['no_income'], recommendation: 'proceed_with_measures', measures: ['shelter_on_arrival'] });
  await ok(t.ngo, `${r}/travel-document/request`, { consulateId: 'consulate-ro-it' });
  await ok(t.consulate, `${r}/travel-document/issue`, { documentType: 'single_trip_travel_title', validFrom: '2026-11-25', validUntil: '2026-12-31' });
  await ok(t.ngo, `${r}/travel-plan`, {
    departureDate: '2026-12-10',
    mode: 'air',
    departureCountry: 'IT',
    transitCountries: [],
    escortOrganisationId: opts.escort,
    pointOfArrival: 'Bucharest OTP airport',
  });
  await ok(opts.receiver, `${r}/reception`, { receivingOrganisationId: opts.receivingOrganisationId, pointOfArrival: 'Bucharest OTP airport' });
}

async function serviceReferralsOf(caseId: string): Promise<string[]> {
  const { rows } = await sql<{ service: string }>`
    select data->>'service' as service from referrals.events
    where event_type = 'ServiceReferralMade' and data->>'caseId' = ${caseId} order by stream_version`.execute(stack.db);
  return rows.map((r) => r.service);
}

describe('an adult\'s return', () => {
  it('from request to follow-up, the hand-over becoming service referrals in referrals', async () => {
    stack.clock.now = start;
    const caseId = await caseInReferrals({ child: false });
    const { returnId } = await ok(t.ngo, '/v1/returns', { caseId, plannedDepartureDate: '2026-12-10', needs: ['shelter'], escortRequired: false, travelDocumentNeeded: true });
    await prepare(returnId, { escort: null, receivingOrganisationId: 'anitp', receiver: t.anitp });
    const r = `/v1/returns/${returnId}`;

    stack.clock.now = new Date('2026-12-10T06:00:00.000Z');
    expect((await ok(t.ngo, `${r}/departure`, {})).phase).toBe('in_transit');
    stack.clock.now = new Date('2026-12-10T14:00:00.000Z');
    const arrived = await ok(t.anitp, `${r}/arrival`, {});
    expect(arrived.arrival).toMatchObject({ receivedBy: 'anitp', pointOfArrival: 'Bucharest OTP airport' });
    await ok(t.anitp, `${r}/handover`, { services: ['shelter', 'psychological', 'vocational'] });

    const services = await eventually(async () => {
      const s = await serviceReferralsOf(caseId);
      return s.length === 3 ? s : undefined;
    }, 'service referrals in referrals');
    expect([...services].sort()).toEqual(['psychological', 'shelter', 'vocational']);

    stack.clock.now = new Date('2027-01-09T10:00:00.000Z');
    const followed = await ok(t.anitp, `${r}/follow-ups`, { afterDays: 30, situation: 'reintegrating' });
    expect(followed.followUps[0]).toMatchObject({ afterDays: 30, situation: 'reintegrating' });
    expect(followed.nextStep).toBe('follow-up-90-days');
    stack.clock.now = start;
  });
});

describe('a child\'s return', () => {
  it('departs only once child protection has recorded every safeguard and an escort travels', async () => {
    stack.clock.now = start;
    const caseId = await caseInReferrals({ child: true });
    const { returnId, child } = await ok(t.ngo, '/v1/returns', { caseId, plannedDepartureDate: '2026-12-10', needs: ['shelter', 'educational'], escortRequired: true, travelDocumentNeeded: true });
    expect(child).toBe(true);
    await prepare(returnId, { escort: null, receivingOrganisationId: 'dgaspc-bucharest', receiver: t.dgaspc });
    const r = `/v1/returns/${returnId}`;

    const refused = await post(t.ngo, `${r}/departure`, {});
    expect(refused.statusCode).toBe(409);
    expect([...refused.json().unmet].sort()).toEqual(
      ['best-interests-determination-missing', 'escort-missing', 'family-assessment-missing', 'guardian-not-appointed', 'travel-document-not-valid-on-departure'].sort(),
    );

    await ok(t.dgaspc, `${r}/guardian`, { appointedOn: '2026-11-20' });
    await ok(t.dgaspc, `${r}/best-interests-determination`, { determinedOn: '2026-11-20', returnInBestInterests: true });
    await ok(t.dgaspc, `${r}/family-assessment`, { assessedOn: '2026-11-20', outcome: 'suitable_with_support' });
    await ok(t.ngo, `${r}/travel-plan`, {
      departureDate: '2026-12-10',
      mode: 'air',
      departureCountry: 'IT',
      transitCountries: [],
      escortOrganisationId: 'iom-it',
      pointOfArrival: 'Bucharest OTP airport',
    });

    stack.clock.now = new Date('2026-12-10T06:00:00.000Z');
    const departed = await ok(t.ngo, `${r}/departure`, {});
    expect(departed).toMatchObject({ phase: 'in_transit', child: true });
    stack.clock.now = new Date('2026-12-10T14:00:00.000Z');
    await ok(t.dgaspc, `${r}/arrival`, {});
    await ok(t.dgaspc, `${r}/handover`, { services: ['shelter', 'educational'] });
    await eventually(async () => (await serviceReferralsOf(caseId)).length === 2, 'service referrals for the child');
    const { rows } = await sql<{ type: string }>`
      select event_type as type from repatriation.events where stream_id = ${`return-${returnId}`} order by stream_version`.execute(stack.db);
    expect(rows.map((e) => e.type)).toContain('GuardianAppointed');
    stack.clock.now = start;
  });

  it('is stopped by a best-interests determination against return: departure refused, only cancellation left', async () => {
    stack.clock.now = start;
    const caseId = await caseInReferrals({ child: true });
    const { returnId } = await ok(t.ngo, '/v1/returns', { caseId, plannedDepartureDate: '2026-12-10', needs: ['shelter'], escortRequired: true, travelDocumentNeeded: false });
    const r = `/v1/returns/${returnId}`;
    await ok(t.anitp, `${r}/acknowledgement`, { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa' });
    await ok(t.iom, `${r}/risk-assessments`, { assessedOn: '2026-11-20', level: 'low', factors: [], recommendation: 'proceed' });
    await ok(t.anitp, `${r}/risk-assessments`, { assessedOn: '2026-11-20', level: 'low', factors: [], recommendation: 'proceed' });
    await ok(t.ngo, `${r}/travel-plan`, {
      departureDate: '2026-12-10',
      mode: 'air',
      departureCountry: 'IT',
      transitCountries: [],
      escortOrganisationId: 'iom-it',
      pointOfArrival: 'Bucharest OTP airport',
    });
    await ok(t.dgaspc, `${r}/reception`, { receivingOrganisationId: 'dgaspc-bucharest', pointOfArrival: 'Bucharest OTP airport' });
    await ok(t.dgaspc, `${r}/guardian`, { appointedOn: '2026-11-20' });
    await ok(t.dgaspc, `${r}/family-assessment`, { assessedOn: '2026-11-20', outcome: 'not_suitable' });
    const stopped = await ok(t.dgaspc, `${r}/best-interests-determination`, { determinedOn: '2026-11-20', returnInBestInterests: false });
    // Departure names every unmet condition: the negative determination, and the family not suitable without a placement at arrival (issue 17).
    expect(stopped).toMatchObject({ stopped: true, nextStep: 'cancel-return', departureUnmet: ['best-interests-against-return', 'family-not-suitable-without-placement'] });

    const board = await stack.app.inject({ url: '/v1/returns/board?limit=100', headers: { authorization: `Bearer ${t.anitp}` } });
    expect(board.json().items.find((i: { returnId: string }) => i.returnId === returnId)).toMatchObject({ stopped: true, unmet: ['best-interests-against-return', 'family-not-suitable-without-placement'] });

    stack.clock.now = new Date('2026-12-10T06:00:00.000Z');
    const refused = await post(t.ngo, `${r}/departure`, {});
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'departure-conditions-unmet', unmet: ['best-interests-against-return', 'family-not-suitable-without-placement'] });
    const overruled = await post(t.dgaspc, `${r}/best-interests-determination`, { determinedOn: '2026-12-10', returnInBestInterests: true });
    expect(overruled.json().code).toBe('return-stopped');

    const cancelled = await ok(t.dgaspc, `${r}/cancellation`, { reason: 'best_interests_against_return' });
    expect(cancelled.phase).toBe('cancelled');
    const { rows } = await sql<{ type: string }>`
      select event_type as type from repatriation.events where stream_id = ${`return-${returnId}`} order by stream_version desc limit 1`.execute(stack.db);
    expect(rows[0]!.type).toBe('ReturnCancelled');
    expect(await serviceReferralsOf(caseId)).toEqual([]);
    stack.clock.now = start;
  });
});
