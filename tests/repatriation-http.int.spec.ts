import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSubject } from '@trm/bus';
import { createEventStore } from '@trm/event-store';
import { repatriationModule } from '@trm/repatriation';
import { ReferralsFeed, eventually } from '../services/repatriation/test-support/referrals-facts.js';
import { type Stack, startStack } from './support/stack.js';

/**
 * Repatriation alone on real PostgreSQL and JetStream: it learns about cases only from referrals
 * events on the bus (published here as the referrals relay would), and everything else goes
 * through its HTTP API.
 */
let stack: Stack;
let feed: ReferralsFeed;
const t: Record<string, string> = {};
const start = new Date('2026-11-20T10:00:00.000Z');

beforeAll(async () => {
  stack = await startStack({ modules: [repatriationModule], now: start });
  feed = new ReferralsFeed(stack.db, stack.bus);
  t.ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  t.anitp = await stack.token('anitp', ['case_officer']);
  t.rc = await stack.token('anitp-rc-bucharest', ['case_officer']);
  t.consulate = await stack.token('consulate-ro-it', ['consular_officer']);
  t.iom = await stack.token('iom-it', ['notifier', 'case_officer']);
  t.police = await stack.token('police-it', ['case_officer', 'notifier']);
  t.dgaspc = await stack.token('dgaspc-bucharest', ['child_protection_officer']);
});
afterAll(async () => stack?.close());

const auth = (token: string | undefined, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

async function post(token: string | undefined, url: string, payload: unknown, headers: Record<string, string> = {}) {
  return stack.app.inject({ method: 'POST', url, headers: auth(token, headers), payload: payload as object });
}

async function eventCount(): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from repatriation.events`.execute(stack.db);
  return Number(rows[0]!.n);
}

async function factsOf(caseId: string) {
  const { rows } = await sql<{ return_consent: boolean; regional_centre_id: string | null; participants: string }>`
    select f.return_consent, f.regional_centre_id,
           (select count(*) from repatriation.case_participants p where p.case_id = f.case_id)::text as participants
    from repatriation.case_facts f where f.case_id = ${caseId}`.execute(stack.db);
  return rows[0];
}

/** A notified, acknowledged adult case with consent to return and the consulate taking part. */
async function adultCase(): Promise<string> {
  const caseId = randomUUID();
  await feed.notified(caseId);
  await feed.acknowledged(caseId);
  await feed.participant(caseId, 'consulate-ro-it', 'consulate', 'travel_documents');
  await feed.consent(caseId);
  await eventually(async () => {
    const f = await factsOf(caseId);
    return f?.return_consent && f.regional_centre_id && f.participants === '4';
  }, 'case facts from the bus');
  return caseId;
}

const requestBody = (caseId: string, over: Record<string, unknown> = {}) => ({
  caseId,
  plannedDepartureDate: '2026-12-10',
  needs: ['shelter', 'medical'],
  escortRequired: false,
  travelDocumentNeeded: true,
  ...over,
});

describe('case facts from referrals events', () => {
  it('are applied through the consumer inbox, one row per event id (exactly-once effect)', async () => {
    const caseId = randomUUID();
    await feed.notified(caseId);
    const added = await feed.participant(caseId, 'iom-it', 'international_organisation', 'return');
    await eventually(async () => (await factsOf(caseId))?.participants === '3', 'participant');
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from repatriation.inbox where event_id = ${added}`.execute(stack.db);
    expect(rows[0]!.n).toBe('1');
  });
});

describe('POST /v1/returns', () => {
  it('needs consent to return: 409 naming the condition, nothing written', async () => {
    const caseId = randomUUID();
    await feed.notified(caseId);
    await eventually(async () => factsOf(caseId), 'case facts');
    const before = await eventCount();
    const res = await post(t.ngo, '/v1/returns', requestBody(caseId));
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ code: 'consent-to-return-required', unmet: ['consent-to-return-not-in-force'] });
    expect(await eventCount()).toBe(before);
  });

  it('refuses unknown fields with pointers, and a case the caller does not take part in with 404', async () => {
    const caseId = await adultCase();
    const bad = await post(t.ngo, '/v1/returns', { ...requestBody(caseId), victimName: 'X' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/victimName']);
    expect(JSON.stringify(bad.json())).not.toContain('"X"');
    const stranger = await post(t.police, '/v1/returns', requestBody(caseId));
    expect(stranger.statusCode).toBe(404);
  });

  it('creates the return (201, Location, ETag), one active return per case, idempotent on retry', async () => {
    const caseId = await adultCase();
    const key = { 'idempotency-key': `req-${caseId}` };
    const res = await post(t.ngo, '/v1/returns', requestBody(caseId), key);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(res.headers.location).toBe(`/v1/returns/${body.returnId}`);
    expect(res.headers.etag).toBe('"1"');
    expect(body).toMatchObject({ phase: 'preparing', child: false, noticeDays: 20, lateNotification: false, nextStep: 'acknowledge-request' });
    const before = await eventCount();
    const again = await post(t.ngo, '/v1/returns', requestBody(caseId), key);
    expect(again.statusCode).toBe(201);
    expect(again.json().returnId).toBe(body.returnId);
    expect(await eventCount()).toBe(before);
    const second = await post(t.ngo, '/v1/returns', requestBody(caseId));
    expect(second.statusCode).toBe(409);
    expect(second.json().code).toBe('return-already-active');
  });
});

describe('a return through HTTP', () => {
  it('refuses departure naming every unmet condition, then walks to follow-up', async () => {
    const caseId = await adultCase();
    const { returnId } = (await post(t.ngo, '/v1/returns', requestBody(caseId))).json();
    const r = (suffix: string) => `/v1/returns/${returnId}${suffix}`;

    const before = await eventCount();
    const early = await post(t.ngo, r('/departure'), {});
    expect(early.statusCode).toBe(409);
    expect(early.json().code).toBe('departure-conditions-unmet');
    expect([...early.json().unmet].sort()).toEqual([
      'reception-not-arranged',
      'return-request-not-acknowledged',
      'risk-assessment-missing',
      'travel-document-missing',
      'travel-not-planned',
    ]);
    expect(await eventCount()).toBe(before);

    expect((await post(t.anitp, r('/acknowledgement'), { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa' })).statusCode).toBe(200);
    expect(
      (await post(t.ngo, r('/risk-assessments'), { assessedOn: '2026-11-20', level: 'low', factors: ['stigma'], recommendation: 'proceed' })).statusCode,
    ).toBe(200);
    expect((await post(t.ngo, r('/departure'), {})).json().unmet).toContain('origin-risk-assessment-missing');
    expect(
      (await post(t.anitp, r('/risk-assessments'), { assessedOn: '2026-11-20', level: 'low', factors: [], recommendation: 'proceed' })).statusCode,
    ).toBe(200);
    expect((await post(t.ngo, r('/travel-document/request'), { consulateId: 'consulate-ro-it' })).statusCode).toBe(200);
    const issued = await post(t.consulate, r('/travel-document/issue'), { documentType: 'single_trip_travel_title', validFrom: '2026-11-25', validUntil: '2026-12-25' });
    expect(issued.statusCode).toBe(200);
    expect(issued.json().travelDocument).toMatchObject({ status: 'issued', validUntil: '2026-12-25' });
    const plan = await post(t.ngo, r('/travel-plan'), {
      departureDate: '2026-12-10',
      mode: 'air',
      departureCountry: 'IT',
      transitCountries: ['AT'],
      escortOrganisationId: null,
      pointOfArrival: 'Bucharest OTP airport',
    });
    expect(plan.statusCode).toBe(200);
    const reception = await post(t.anitp, r('/reception'), { receivingOrganisationId: 'anitp-rc-bucharest', pointOfArrival: 'Bucharest OTP airport' });
    expect(reception.statusCode).toBe(200);
    expect(reception.json()).toMatchObject({ departureUnmet: [], nextStep: 'depart' });

    stack.clock.now = new Date('2026-12-10T07:00:00.000Z');
    expect((await post(t.ngo, r('/departure'), {})).statusCode).toBe(200);
    expect((await post(t.ngo, r('/cancellation'), { reason: 'victim_changed_mind' })).json().code).toBe('return-already-departed');
    expect((await post(t.ngo, r('/transits'), { country: 'AT' })).statusCode).toBe(200);
    stack.clock.now = new Date('2026-12-10T15:00:00.000Z');
    const arrived = await post(t.rc, r('/arrival'), {});
    expect(arrived.statusCode).toBe(200);
    expect(arrived.json().followUps.map((f: { afterDays: number }) => f.afterDays)).toEqual([30, 90, 180]);

    // The hand-over reaches NATS as the contract says, with nothing but ids and service types.
    const seen: unknown[] = [];
    const sub = await stack.bus.consume(
      { durable: `test-handover-${randomUUID().slice(0, 8)}`, filterSubject: eventSubject(stack.subjectsPrefix, 'repatriation', 'HandedOverToAssistance'), maxDeliver: 3 },
      async (d) => {
        seen.push(JSON.parse(new TextDecoder().decode(d.data)));
        d.ack();
      },
    );
    const handover = await post(t.rc, r('/handover'), { services: ['shelter', 'psychological'] });
    expect(handover.statusCode).toBe(200);
    const message = await eventually(async () => seen.find((m) => (m as { data: { returnId: string } }).data.returnId === returnId), 'hand-over on NATS');
    await sub.stop();
    expect((message as { data: unknown }).data).toEqual({
      caseId,
      returnId,
      receivingOrganisationId: 'anitp-rc-bucharest',
      services: ['shelter', 'psychological'],
      handedOverAt: '2026-12-10T15:00:00.000Z',
    });

    stack.clock.now = new Date('2027-01-12T10:00:00.000Z');
    const followUp = await post(t.rc, r('/follow-ups'), { afterDays: 30, situation: 'reintegrating' });
    expect(followUp.statusCode).toBe(200);
    expect(followUp.json().nextStep).toBe('follow-up-90-days');

    // The consulate's timeline holds its own step and the request it answers (docs/ACCESS.md).
    const consular = await stack.app.inject({ url: r(''), headers: auth(t.consulate) });
    expect(consular.statusCode).toBe(200);
    expect(consular.json().timeline.map((e: { type: string }) => e.type)).toEqual(['ReturnRequested', 'TravelDocumentRequested', 'TravelDocumentIssued']);
    expect(consular.json()).not.toHaveProperty('travelPlan');
    const view = await stack.app.inject({ url: r(''), headers: auth(t.anitp) });
    expect(view.statusCode).toBe(200);
    expect(view.json().timeline.map((e: { type: string }) => e.type)).toEqual([
      'ReturnRequested',
      'ReturnRequestAcknowledged',
      'RiskAssessmentRecorded',
      'RiskAssessmentRecorded',
      'TravelDocumentRequested',
      'TravelDocumentIssued',
      'TravelPlanned',
      'ReceptionArranged',
      'Departed',
      'TransitRecorded',
      'Arrived',
      'HandedOverToAssistance',
      'FollowUpRecorded',
    ]);
    stack.clock.now = start;
  });

  it('only the consulate taking part issues; a consulate not taking part gets 404; a stale If-Match 412', async () => {
    const caseId = await adultCase();
    const { returnId } = (await post(t.ngo, '/v1/returns', requestBody(caseId))).json();
    const r = (suffix: string) => `/v1/returns/${returnId}${suffix}`;
    await post(t.ngo, r('/travel-document/request'), { consulateId: 'consulate-ro-it' });
    // The notifier takes part but is not the consulate: its step is refused, not hidden.
    const ngoAsConsul = await stack.token('ngo-it', ['consular_officer']);
    const notYours = await post(ngoAsConsul, r('/travel-document/issue'), { documentType: 'single_trip_travel_title', validFrom: '2026-11-25', validUntil: '2026-12-25' });
    expect(notYours.statusCode).toBe(403);
    expect(notYours.json().code).toBe('not-your-step');
    const police = await stack.app.inject({ url: r(''), headers: auth(t.police) });
    expect(police.statusCode).toBe(404);
    // A case the consulate does not take part in: its return does not exist for the consulate.
    const other = randomUUID();
    await feed.notified(other);
    await feed.consent(other);
    await eventually(async () => (await factsOf(other))?.return_consent, 'case facts');
    const otherReturn = (await post(t.ngo, '/v1/returns', requestBody(other))).json().returnId;
    expect((await stack.app.inject({ url: `/v1/returns/${otherReturn}`, headers: auth(t.consulate) })).statusCode).toBe(404);
    const hidden = await post(t.consulate, `/v1/returns/${otherReturn}/travel-document/request`, { consulateId: 'consulate-ro-it' });
    expect(hidden.statusCode).toBe(404);
    const stale = await post(t.consulate, r('/travel-document/refusal'), { reason: 'identity_not_established' }, { 'if-match': '"1"' });
    expect(stale.statusCode).toBe(412);
    const refused = await post(t.consulate, r('/travel-document/refusal'), { reason: 'identity_not_established' }, { 'if-match': '"2"' });
    expect(refused.statusCode).toBe(200);
    expect(refused.json().travelDocument).toMatchObject({ status: 'refused', refusalReason: 'identity_not_established' });
  });

  it('consent withdrawn in referrals cancels the planned return (ReturnCancelled, consent_withdrawn)', async () => {
    const { caseId, returnId, r } = await preparedAdultReturn();
    await feed.withdrawal(caseId);
    const cancelled = await eventually(async () => {
      const res = await stack.app.inject({ url: r(''), headers: auth(t.anitp) });
      return res.json().phase === 'cancelled' ? res.json() : undefined;
    }, 'cancellation on withdrawal');
    expect(cancelled.cancellation).toMatchObject({ reason: 'consent_withdrawn', cancelledBy: 'ngo-it' });
    expect(cancelled.timeline.at(-1)).toMatchObject({ type: 'ReturnCancelled', organisationId: 'ngo-it' });
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from repatriation.events where stream_id = ${`return-${returnId}`} and event_type = 'ReturnCancelled'`.execute(stack.db);
    expect(rows[0]!.n).toBe('1');
    const res = await post(t.ngo, r('/departure'), {});
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('return-cancelled');
    // A new return needs consent again.
    expect((await post(t.ngo, '/v1/returns', requestBody(caseId))).json().code).toBe('consent-to-return-required');
  });
});

/** An adult's return with everything in place but the departure (no travel document needed), departing on 2026-12-10. */
async function preparedAdultReturn() {
  const caseId = await adultCase();
  const { returnId } = (await post(t.ngo, '/v1/returns', requestBody(caseId, { travelDocumentNeeded: false }))).json();
  const r = (suffix: string) => `/v1/returns/${returnId}${suffix}`;
  const ok = async (res: Promise<{ statusCode: number; body: string }>) => {
    const done = await res;
    expect(done.statusCode, done.body).toBeLessThan(300);
  };
  await ok(post(t.anitp, r('/acknowledgement'), { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa' }));
  await ok(post(t.anitp, r('/risk-assessments'), { assessedOn: '2026-11-20', level: 'low', factors: [], recommendation: 'proceed' }));
  await ok(post(t.ngo, r('/travel-plan'), { departureDate: '2026-12-10', mode: 'land', departureCountry: 'IT', transitCountries: [], escortOrganisationId: null, pointOfArrival: 'Nadlac border crossing' }));
  await ok(post(t.anitp, r('/reception'), { receivingOrganisationId: 'anitp', pointOfArrival: 'Nadlac border crossing' }));
  return { caseId, returnId, r };
}

describe('the safety rules a return must never get past (issue 17)', () => {
  it('the origin governs: a destination partner\'s newer proceed does not supersede its do_not_return; the disagreement waits for the origin contact point', async () => {
    const { r } = await preparedAdultReturn();
    const against = await post(t.anitp, r('/risk-assessments'), { assessedOn: '2026-11-20', level: 'high', factors: ['threat_from_traffickers'], recommendation: 'do_not_return' });
    expect(against.statusCode).toBe(200);
    stack.clock.now = new Date('2026-11-21T10:00:00.000Z');
    const proceed = await post(t.ngo, r('/risk-assessments'), { assessedOn: '2026-11-21', level: 'low', factors: [], recommendation: 'proceed' });
    expect(proceed.statusCode).toBe(200);
    stack.clock.now = new Date('2026-12-10T07:00:00.000Z');
    const refused = await post(t.ngo, r('/departure'), {});
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'departure-conditions-unmet', unmet: ['risk-disagreement-unresolved', 'risk-assessment-advises-against-return'] });
    // Only the origin's contact point resolves it; the destination partner cannot.
    expect((await post(t.ngo, r('/risk-resolution'), { recommendation: 'proceed', measures: [] })).statusCode).toBe(403);
    const before = await eventCount();
    const noMeasures = await post(t.anitp, r('/risk-resolution'), { recommendation: 'proceed_with_measures' });
    expect(noMeasures.statusCode).toBe(422);
    expect(noMeasures.json().unmet).toEqual(['measures-required']);
    expect(await eventCount()).toBe(before);
    const resolved = await post(t.anitp, r('/risk-resolution'), { recommendation: 'proceed_with_measures', measures: ['police_protection', 'shelter_on_arrival'] });
    expect(resolved.statusCode).toBe(200);
    expect(resolved.json().riskResolution).toMatchObject({ recommendation: 'proceed_with_measures', resolvedBy: 'anitp' });
    expect((await post(t.ngo, r('/departure'), {})).statusCode).toBe(200);
    stack.clock.now = start;
  });

  it('high risk with proceed is refused (422, nothing written); proceed_with_measures names its measures', async () => {
    const { r } = await preparedAdultReturn();
    const before = await eventCount();
    const high = await post(t.ngo, r('/risk-assessments'), { assessedOn: '2026-11-20', level: 'high', factors: ['re_trafficking'], recommendation: 'proceed' });
    expect(high.statusCode).toBe(422);
    expect(high.json()).toMatchObject({ code: 'invalid-risk-assessment', unmet: ['high-risk-cannot-proceed-without-measures'] });
    expect(await eventCount()).toBe(before);
    const measures = await post(t.ngo, r('/risk-assessments'), { assessedOn: '2026-11-20', level: 'high', factors: ['re_trafficking'], recommendation: 'proceed_with_measures', measures: ['escort'] });
    expect(measures.statusCode).toBe(200);
    expect(measures.json().riskAssessments.at(-1)).toMatchObject({ side: 'destination', recommendation: 'proceed_with_measures', measures: ['escort'] });
  });

  it('reception is arranged by the origin, never by the destination side', async () => {
    const caseId = await adultCase();
    const { returnId } = (await post(t.ngo, '/v1/returns', requestBody(caseId))).json();
    const res = await post(t.ngo, `/v1/returns/${returnId}/reception`, { receivingOrganisationId: 'ngo-it', pointOfArrival: 'Bucharest OTP airport' });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('not-your-step');
    // A provider taking part arranges its own reception, never someone else's.
    await feed.participant(caseId, 'provider-shelter', 'service_provider', 'service_provision');
    await eventually(async () => (await factsOf(caseId))?.participants === '5', 'shelter taking part');
    const shelter = await stack.token('provider-shelter', ['service_provider']);
    const other = await post(shelter, `/v1/returns/${returnId}/reception`, { receivingOrganisationId: 'anitp', pointOfArrival: 'Bucharest OTP airport' });
    expect(other.statusCode).toBe(403);
    const own = await post(shelter, `/v1/returns/${returnId}/reception`, { receivingOrganisationId: 'provider-shelter', pointOfArrival: 'Bucharest OTP airport' });
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json().reception).toMatchObject({ receivingOrganisationId: 'provider-shelter' });
  });

  it('a threat flag raised in referrals (over NATS) blocks departure until the origin reassesses', async () => {
    const { caseId, r } = await preparedAdultReturn();
    await feed.publish('RiskFlagRaised', { caseId, kind: 'threat', level: 'high', raisedBy: 'ngo-it', raisedAt: '2026-11-20T11:00:00.000Z' });
    await eventually(async () => {
      const { rows } = await sql<{ n: string }>`select count(*)::text as n from repatriation.case_risk_flags where case_id = ${caseId}`.execute(stack.db);
      return rows[0]!.n === '1';
    }, 'flag in the case facts');
    stack.clock.now = new Date('2026-12-10T07:00:00.000Z');
    const refused = await post(t.ngo, r('/departure'), {});
    expect(refused.statusCode).toBe(409);
    expect(refused.json().unmet).toEqual(['risk-flag-raised-since-assessment']);
    // The destination's reassessment does not lift it; the origin's does.
    expect((await post(t.ngo, r('/risk-assessments'), { assessedOn: '2026-12-09', level: 'medium', factors: ['threat_from_traffickers'], recommendation: 'proceed_with_measures', measures: ['escort'] })).statusCode).toBe(200);
    expect((await post(t.ngo, r('/departure'), {})).json().unmet).toEqual(['risk-flag-raised-since-assessment']);
    expect((await post(t.anitp, r('/risk-assessments'), { assessedOn: '2026-12-09', level: 'medium', factors: ['threat_from_traffickers'], recommendation: 'proceed_with_measures', measures: ['police_protection'] })).statusCode).toBe(200);
    expect((await post(t.ngo, r('/departure'), {})).statusCode).toBe(200);
    stack.clock.now = start;
  });

  it('departure is refused with case-facts-not-current while repatriation has not applied an event referrals holds', async () => {
    const { caseId, r } = await preparedAdultReturn();
    // Referrals recorded an event its relay has not delivered yet (only in its events table).
    await createEventStore({ schema: 'referrals' }).append(stack.db, `case-${caseId}`, [{ type: 'MonitoringContactRecorded', data: { caseId } }], {
      expectedVersion: 'any',
      metadata: { actor: 'test', organisation: 'anitp', correlationId: randomUUID(), causationId: null, requestId: null },
    });
    stack.clock.now = new Date('2026-12-10T07:00:00.000Z');
    const before = await eventCount();
    const refused = await post(t.ngo, r('/departure'), {});
    expect(refused.statusCode).toBe(409);
    expect(refused.json().unmet).toEqual(['case-facts-not-current']);
    expect(await eventCount()).toBe(before);
    // The next event delivered makes the consumer read the gap from referrals: the facts catch up.
    await feed.participant(caseId, 'iom-it', 'international_organisation', 'return');
    await eventually(async () => (await factsOf(caseId))?.participants === '5', 'facts caught up');
    expect((await post(t.ngo, r('/departure'), {})).statusCode).toBe(200);
    stack.clock.now = start;
  });

  it('an unannounced or deported arrival is recorded by the origin contact point without consent to return, and the person is handed over', async () => {
    const caseId = randomUUID();
    await feed.notified(caseId, { returnWanted: false });
    await feed.acknowledged(caseId);
    await eventually(async () => (await factsOf(caseId))?.regional_centre_id, 'case facts');
    const body = { caseId, arrivedOn: '2026-11-19', pointOfArrival: 'Nadlac border crossing', deported: true, learntFrom: 'border_police', fromCountry: 'HU' };
    const before = await eventCount();
    const unknownField = await post(t.anitp, '/v1/returns/unannounced-arrivals', { ...body, victimName: 'X' });
    expect(unknownField.statusCode).toBe(400);
    const future = await post(t.anitp, '/v1/returns/unannounced-arrivals', { ...body, arrivedOn: '2026-11-21' });
    expect(future.statusCode).toBe(422);
    expect((await post(t.ngo, '/v1/returns/unannounced-arrivals', body)).statusCode).toBe(403);
    expect(await eventCount()).toBe(before);
    const res = await post(t.anitp, '/v1/returns/unannounced-arrivals', body);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ phase: 'arrived', unannounced: { arrivedOn: '2026-11-19', deported: true, learntFrom: 'border_police' }, acknowledgementDueAt: null });
    const { returnId } = res.json();
    const handover = await post(t.anitp, `/v1/returns/${returnId}/handover`, { services: ['shelter', 'psychological'] });
    expect(handover.statusCode).toBe(200);
    expect(handover.json().phase).toBe('handed_over');
    const again = await post(t.anitp, '/v1/returns/unannounced-arrivals', body);
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('return-already-active');
  });
});

describe('late notification, deadlines and the board', () => {
  it('flags a departure sooner than the notice policy, shows it on the board and counts it', async () => {
    const caseId = await adultCase();
    const res = await post(t.ngo, '/v1/returns', requestBody(caseId, { plannedDepartureDate: '2026-11-24' }));
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ lateNotification: true, noticeDays: 4 });
    const board = await stack.app.inject({ url: '/v1/returns/board?limit=100', headers: auth(t.anitp) });
    expect(board.statusCode).toBe(200);
    const item = board.json().items.find((i: { returnId: string }) => i.returnId === res.json().returnId);
    expect(item).toMatchObject({ lateNotification: true, nextStep: 'acknowledge-request' });
    expect(item.unmet).toContain('reception-not-arranged');
    expect(board.json().summary.lateNotifications).toBeGreaterThanOrEqual(1);
    const { rows } = await sql<{ type: string }>`select event_type as type from repatriation.events where stream_id = ${`return-${res.json().returnId}`} order by stream_version`.execute(stack.db);
    expect(rows.map((r) => r.type)).toEqual(['ReturnRequested', 'LateNotificationFlagged']);
    // The board is the contact point's; a destination partner is told so.
    expect((await stack.app.inject({ url: '/v1/returns/board', headers: auth(t.ngo) })).statusCode).toBe(403);
  });

  it('lists an acknowledgement overdue after the 2-day policy', async () => {
    const caseId = await adultCase();
    const { returnId } = (await post(t.ngo, '/v1/returns', requestBody(caseId))).json();
    const due = await stack.app.inject({ url: '/v1/returns/deadlines?overdue=true&limit=100', headers: auth(t.anitp) });
    expect(due.json().items.some((d: { returnId: string }) => d.returnId === returnId)).toBe(false);
    stack.clock.now = new Date('2026-11-23T10:00:00.000Z');
    try {
      const overdue = await stack.app.inject({ url: '/v1/returns/deadlines?overdue=true&limit=100', headers: auth(t.anitp) });
      expect(overdue.json().items).toContainEqual(expect.objectContaining({ returnId, kind: 'acknowledgement', overdue: true, metAt: null }));
      const view = await stack.app.inject({ url: `/v1/returns/${returnId}`, headers: auth(t.ngo) });
      expect(view.json().acknowledgementOverdue).toBe(true);
      const late = await post(t.anitp, `/v1/returns/${returnId}/acknowledgement`, { keyContactId: 'a', alternateContactId: 'b' });
      expect(late.json().acknowledgement.late).toBe(true);
      const after = await stack.app.inject({ url: '/v1/returns/deadlines?overdue=true&limit=100', headers: auth(t.anitp) });
      expect(after.json().items.some((d: { returnId: string }) => d.returnId === returnId)).toBe(false);
    } finally {
      stack.clock.now = start;
    }
  });
});

describe('personal data', () => {
  it('sent where it does not belong, is refused and reaches neither events nor logs nor the error body', async () => {
    const caseId = await adultCase();
    const res = await post(t.ngo, '/v1/returns', { ...requestBody(caseId), escortName: 'Maria Popescu' });
    expect(res.statusCode).toBe(400);
    const { rows } = await sql<{ data: unknown }>`select data from repatriation.events`.execute(stack.db);
    const text = res.body + JSON.stringify(rows) + stack.logs.join('\n');
    expect(text).not.toContain('Popescu');
  });
});
