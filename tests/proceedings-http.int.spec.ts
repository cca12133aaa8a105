import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { proceedingsModule } from '@trm/proceedings';
import { referralsModule } from '@trm/referrals';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendSourceEvent } from './support/source-events.js';
import { type Stack, notification, startStack } from './support/stack.js';

/**
 * The proceedings HTTP surface on real PostgreSQL and JetStream: access, gates, bad input,
 * idempotency, If-Match, policy from the environment, and the criminal case reference kept out
 * of events, NATS, logs and error bodies.
 */
let stack: Stack;
const start = new Date('2026-11-20T10:00:00.000Z');
let t: Record<'notifier' | 'anitpCase' | 'anitp' | 'ngo' | 'police' | 'otherPolice' | 'consulate' | 'shelter' | 'stats', string>;

beforeAll(async () => {
  // A non-default policy proves the module reads it from the environment.
  stack = await startStack({ modules: [referralsModule, proceedingsModule], now: start, env: { PROCEEDINGS_INFORM_DAYS: '3' } });
  t = {
    notifier: await stack.token('ngo-it', ['notifier']),
    anitpCase: await stack.token('anitp', ['case_officer']),
    anitp: await stack.token('anitp', ['proceedings_coordinator', 'case_officer']),
    ngo: await stack.token('ngo-it', ['proceedings_coordinator']),
    police: await stack.token('police-it', ['case_officer']),
    otherPolice: await stack.token('police-it', ['case_officer'], { sub: 'other-officer' }),
    consulate: await stack.token('consulate-ro-it', ['consular_officer', 'proceedings_coordinator']),
    shelter: await stack.token('provider-shelter', ['service_provider', 'proceedings_coordinator']),
    stats: await stack.token('stats-ro', ['statistics_reader']),
  };
});
afterAll(async () => stack?.close());

const auth = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });
const post = (token: string, url: string, payload: unknown, headers: Record<string, string> = {}) =>
  stack.app.inject({ method: 'POST', url, headers: auth(token, headers), payload: payload as object });

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function publishReferralsEvent(type: string, data: Record<string, unknown>): Promise<void> {
  await appendSourceEvent(stack.db, stack.bus, { service: 'referrals', streamId: `case-${String(data.caseId)}`, type, data, now: stack.clock.now, relays: stack.relays });
}

async function visibleTo(token: string, caseId: string): Promise<void> {
  await until('the case to reach proceedings', async () => {
    const res = await stack.app.inject({ url: `/v1/proceedings/${caseId}`, headers: auth(token) });
    return res.statusCode === 200 ? true : undefined;
  });
}

/** Notified by ngo-it, police-it added as law enforcement (published, issue 3 has no route yet). */
async function newCase(opts: { supportingNgo?: boolean } = {}): Promise<string> {
  const created = await post(t.notifier, '/v1/cases', notification());
  expect(created.statusCode).toBe(201);
  const caseId: string = created.json().caseId;
  await publishReferralsEvent('ParticipantAdded', { caseId, organisationId: 'police-it', organisationType: 'law_enforcement', purpose: 'law_enforcement' });
  if (opts.supportingNgo) {
    await publishReferralsEvent('ParticipantAdded', { caseId, organisationId: 'ngo-it', organisationType: 'ngo', purpose: 'proceedings_support' });
    await visibleTo(t.ngo, caseId);
  }
  await visibleTo(t.police, caseId);
  await visibleTo(t.anitp, caseId);
  return caseId;
}

async function eventCount(): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from proceedings.events`.execute(stack.db);
  return Number(rows[0]!.n);
}

const link = { country: 'IT', authorityType: 'prosecutor', offence: 'trafficking_in_persons' };

describe('access', () => {
  it('is for the contact point, law enforcement and the supporting organisation only: 404 for everyone else', async () => {
    const caseId = await newCase();
    // The notifying NGO is not on the victim's side in proceedings until it is added for it.
    expect((await stack.app.inject({ url: `/v1/proceedings/${caseId}`, headers: auth(t.ngo) })).statusCode).toBe(404);
    // Even added to the case, a consulate or a provider never sees proceedings.
    await publishReferralsEvent('ParticipantAdded', { caseId, organisationId: 'consulate-ro-it', organisationType: 'consulate', purpose: 'proceedings_support' });
    await publishReferralsEvent('ParticipantAdded', { caseId, organisationId: 'provider-shelter', organisationType: 'service_provider', purpose: 'proceedings_support' });
    await publishReferralsEvent('ParticipantAdded', { caseId, organisationId: 'ngo-it', organisationType: 'ngo', purpose: 'proceedings_support' });
    await visibleTo(t.ngo, caseId);
    const missing = await stack.app.inject({ url: `/v1/proceedings/${randomUUID()}`, headers: auth(t.consulate) });
    for (const token of [t.consulate, t.shelter]) {
      const res = await stack.app.inject({ url: `/v1/proceedings/${caseId}`, headers: auth(token) });
      expect(res.statusCode).toBe(404);
      expect({ ...res.json(), requestId: 'x' }).toEqual({ ...missing.json(), requestId: 'x' });
      expect((await post(token, `/v1/proceedings/${caseId}/participation`, { consentedOn: '2026-11-20' })).statusCode).toBe(404);
    }
    expect((await stack.app.inject({ url: `/v1/proceedings/${caseId}`, headers: auth(t.stats) })).statusCode).toBe(403);
  });

  it('follows ParticipantRemoved: a removed law-enforcement participant loses the case', async () => {
    const caseId = await newCase();
    await publishReferralsEvent('ParticipantRemoved', { caseId, organisationId: 'police-it', purpose: 'law_enforcement' });
    await until('the removal to reach proceedings', async () => {
      const res = await stack.app.inject({ url: `/v1/proceedings/${caseId}`, headers: auth(t.police) });
      return res.statusCode === 404 ? true : undefined;
    });
  });

  it('refuses the wrong capacity with 403 and writes nothing', async () => {
    const caseId = await newCase();
    const before = await eventCount();
    const res = await post(t.police, `/v1/proceedings/${caseId}/participation`, { consentedOn: '2026-11-20' });
    expect(res.statusCode).toBe(403);
    const anitpWithoutRole = await post(t.anitpCase, `/v1/proceedings/${caseId}/criminal-cases`, link);
    expect(anitpWithoutRole.statusCode).toBe(403);
    expect(anitpWithoutRole.json().code).toBe('capacity-not-allowed');
    expect(await eventCount()).toBe(before);
  });
});

describe('gates and bad input', () => {
  it('refuses every command before consent with 409 participation-consent-missing and writes nothing', async () => {
    const caseId = await newCase();
    const before = await eventCount();
    const res = await post(t.police, `/v1/proceedings/${caseId}/criminal-cases/${randomUUID()}/stage`, { stage: 'trial', changedOn: '2026-11-20' });
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ type: '/problems/proceedings-conditions-unmet', code: 'proceedings-conditions-unmet' });
    expect(res.json().unmet.sort()).toEqual(['criminal-case-not-linked', 'participation-consent-missing']);
    expect(await eventCount()).toBe(before);
  });

  it('refuses unknown fields, bad money and bad outcomes with pointers, and writes nothing', async () => {
    const caseId = await newCase();
    expect((await post(t.anitp, `/v1/proceedings/${caseId}/participation`, { consentedOn: '2026-11-20' })).statusCode).toBe(201);
    const cc = (await post(t.police, `/v1/proceedings/${caseId}/criminal-cases`, { ...link, stage: 'trial' })).json().created.criminalCaseId;
    const before = await eventCount();
    const unknown = await post(t.anitp, `/v1/proceedings/${caseId}/participation/withdrawal`, { withdrawnOn: '2026-11-20', reason: 'x' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/reason']);
    const money = await post(t.anitp, `/v1/proceedings/${caseId}/criminal-cases/${cc}/compensation-claims`, {
      claimed: { amount: '1e5', currency: 'EURO' },
      against: 'offender',
      claimedOn: '2026-11-20',
    });
    expect(money.statusCode).toBe(400);
    expect(money.json().errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/claimed/amount', '/claimed/currency']);
    const sentence = await post(t.police, `/v1/proceedings/${caseId}/criminal-cases/${cc}/outcomes`, { outcome: { kind: 'conviction', sentence: 'suspended' }, decidedOn: '2026-11-20' });
    expect(sentence.statusCode).toBe(400);
    expect(sentence.json().errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/outcome/lengthMonths']);
    const future = await post(t.police, `/v1/proceedings/${caseId}/criminal-cases/${cc}/outcomes`, { outcome: { kind: 'acquittal' }, decidedOn: '2026-12-01' });
    expect(future.statusCode).toBe(422);
    expect(future.json().unmet).toEqual(['decided-on-in-future']);
    expect(await eventCount()).toBe(before);
  });
});

describe('idempotency, If-Match and policy', () => {
  it('replays a retried command, answers 412 to a stale If-Match, and takes the deadline from PROCEEDINGS_INFORM_DAYS', async () => {
    const caseId = await newCase();
    const base = `/v1/proceedings/${caseId}`;
    const first = await post(t.anitp, `${base}/participation`, { consentedOn: '2026-11-20' }, { 'idempotency-key': `k-${caseId}` });
    const before = await eventCount();
    const again = await post(t.anitp, `${base}/participation`, { consentedOn: '2026-11-20' }, { 'idempotency-key': `k-${caseId}` });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(await eventCount()).toBe(before);

    const linked = await post(t.police, `${base}/criminal-cases`, link, { 'if-match': first.headers.etag as string });
    expect(linked.statusCode).toBe(201);
    const stale = await post(t.police, `${base}/criminal-cases`, link, { 'if-match': first.headers.etag as string });
    expect(stale.statusCode).toBe(412);
    expect(await eventCount()).toBe(before + 1);

    const cc = linked.json().created.criminalCaseId;
    const changed = await post(t.police, `${base}/criminal-cases/${cc}/stage`, { stage: 'prosecution', changedOn: '2026-11-20' });
    const duty = changed.json().proceedings.duties[0];
    // Due at the end of the day the stage changed plus the policy days.
    expect(duty.dueAt).toBe('2026-11-23T23:59:59.999Z');
  });
});

describe('duties run from the event\'s date (issue 17)', () => {
  it('a late entry does not restart the clock; a hearing is announced no later than the day before it', async () => {
    const caseId = await newCase();
    const base = `/v1/proceedings/${caseId}`;
    await post(t.anitp, `${base}/participation`, { consentedOn: '2026-11-20' });
    const cc = (await post(t.police, `${base}/criminal-cases`, link)).json().created.criminalCaseId;
    // Entered today, the stage changed ten days ago: the duty is due from then, already overdue.
    const late = await post(t.police, `${base}/criminal-cases/${cc}/stage`, { stage: 'prosecution', changedOn: '2026-11-10' });
    expect(late.statusCode).toBe(200);
    const lateDuty = late.json().proceedings.duties.find((d: { dutyId: string }) => d.dutyId === late.json().created.dutyId);
    expect(lateDuty).toMatchObject({ dueAt: '2026-11-13T23:59:59.999Z', overdue: true });
    const hearing = await post(t.police, `${base}/criminal-cases/${cc}/hearings`, { date: '2026-11-22', country: 'IT', remoteTestimonyPossible: true, scheduledOn: '2026-11-20' });
    expect(hearing.statusCode).toBe(201);
    const hearingDuty = hearing.json().proceedings.duties.find((d: { dutyId: string }) => d.dutyId === hearing.json().created.dutyId);
    expect(hearingDuty.dueAt).toBe('2026-11-21T23:59:59.999Z');
    const overdue = await stack.app.inject({ url: `/v1/proceedings/duties?status=overdue&caseId=${caseId}`, headers: auth(t.anitp) });
    expect(overdue.json().items.map((d: { dutyId: string }) => d.dutyId)).toEqual([late.json().created.dutyId]);
    const informed = await post(t.anitp, `${base}/victim-informed`, { dutyIds: [late.json().created.dutyId], channel: 'phone' });
    expect(informed.json().proceedings.duties.find((d: { dutyId: string }) => d.dutyId === late.json().created.dutyId)).toMatchObject({ status: 'fulfilled', late: true });
  });
});

describe('compensation paid and foreign trials (issue 17)', () => {
  it('records CompensationPaid after an award, never more than awarded (422, nothing written)', async () => {
    const caseId = await newCase();
    const base = `/v1/proceedings/${caseId}`;
    await post(t.anitp, `${base}/participation`, { consentedOn: '2026-11-20' });
    const cc = (await post(t.police, `${base}/criminal-cases`, link)).json().created.criminalCaseId;
    const claimId = (await post(t.anitp, `${base}/criminal-cases/${cc}/compensation-claims`, { claimed: { amount: '10000.00', currency: 'EUR' }, against: 'offender', claimedOn: '2026-11-20' })).json().created.claimId;
    const early = await post(t.anitp, `${base}/compensation-claims/${claimId}/payments`, { amount: { amount: '100.00', currency: 'EUR' }, paidOn: '2026-11-20' });
    expect(early.statusCode).toBe(409);
    expect(early.json().unmet).toEqual(['compensation-not-decided']);
    await post(t.police, `${base}/compensation-claims/${claimId}/decision`, { decision: 'awarded', awarded: { amount: '8000.00', currency: 'EUR' }, paid: false, decidedOn: '2026-11-20' });
    const before = await eventCount();
    const tooMuch = await post(t.anitp, `${base}/compensation-claims/${claimId}/payments`, { amount: { amount: '8000.01', currency: 'EUR' }, paidOn: '2026-11-20' });
    expect(tooMuch.statusCode).toBe(422);
    expect(tooMuch.json().unmet).toEqual(['paid-exceeds-award']);
    expect(await eventCount()).toBe(before);
    const paid = await post(t.anitp, `${base}/compensation-claims/${claimId}/payments`, { amount: { amount: '5000.00', currency: 'EUR' }, paidOn: '2026-11-20' });
    expect(paid.statusCode).toBe(201);
    expect(paid.json().proceedings.claims[0].payments).toEqual([{ amount: { amount: '5000.00', currency: 'EUR' }, paidOn: '2026-11-20' }]);
  });

  it('the proceedings coordinator records the stages of a trial abroad, with their source', async () => {
    const caseId = await newCase();
    const base = `/v1/proceedings/${caseId}`;
    await post(t.anitp, `${base}/participation`, { consentedOn: '2026-11-20' });
    const cc = (await post(t.police, `${base}/criminal-cases`, link)).json().created.criminalCaseId;
    const noSource = await post(t.anitp, `${base}/criminal-cases/${cc}/stage`, { stage: 'trial', changedOn: '2026-11-20' });
    expect(noSource.statusCode).toBe(422);
    expect(noSource.json().unmet).toEqual(['source-required']);
    const byLawyer = await post(t.anitp, `${base}/criminal-cases/${cc}/stage`, { stage: 'trial', changedOn: '2026-11-20', source: 'lawyer' });
    expect(byLawyer.statusCode).toBe(200);
    const { rows } = await sql<{ data: { source: string; changedBy: string } }>`
      select data from proceedings.events where stream_id = ${`proceedings-${caseId}`} and event_type = 'StageChanged'`.execute(stack.db);
    expect(rows.map((r) => r.data)).toMatchObject([{ source: 'lawyer', changedBy: 'anitp' }]);
  });
});

describe('criminal case reference', () => {
  it('never appears in events, NATS messages, logs or error bodies; reading it is recorded', async () => {
    const caseId = await newCase({ supportingNgo: true });
    const base = `/v1/proceedings/${caseId}`;
    const reference = `RGNR-${randomBytes(6).toString('hex')}`;
    expect((await post(t.ngo, `${base}/participation`, { consentedOn: '2026-11-20' })).statusCode).toBe(201);
    const linked = await post(t.police, `${base}/criminal-cases`, { ...link, reference });
    expect(linked.statusCode).toBe(201);
    expect(linked.body).not.toContain(reference);
    const cc = linked.json().created.criminalCaseId;

    const errors = [
      await post(t.police, `${base}/criminal-cases`, { ...link, reference, extra: reference }),
      await post(t.police, `${base}/criminal-cases`, { ...link, reference: reference.repeat(40) }),
      await post(t.police, `${base}/criminal-cases`, { ...link, offence: reference, reference }),
    ];
    for (const res of errors) {
      expect(res.statusCode).toBe(400);
      expect(res.body).not.toContain(reference);
    }

    const read = await stack.app.inject({ url: `${base}/criminal-cases/${cc}/reference?purpose=legal_counsel`, headers: auth(t.ngo) });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({ caseId, criminalCaseId: cc, status: 'present', reference });
    const { rows } = await sql<{ data: unknown; event_type: string }>`select event_type, data from proceedings.events`.execute(stack.db);
    expect(JSON.stringify(rows)).not.toContain(reference);
    expect(rows.filter((r) => r.event_type === 'CriminalCaseReferenceRead').map((r) => r.data)).toContainEqual({
      caseId,
      criminalCaseId: cc,
      organisationId: 'ngo-it',
      purpose: 'legal_counsel',
    });

    const seen: string[] = [];
    const sub = await stack.bus.consume(
      { durable: `scan-${randomBytes(3).toString('hex')}`, filterSubject: `${stack.subjectsPrefix}.proceedings.>`, maxDeliver: 1 },
      async (d) => {
        seen.push(new TextDecoder().decode(d.data));
        d.ack();
      },
    );
    await until('the reference read to be published', async () => (seen.some((s) => s.includes('CriminalCaseReferenceRead') && s.includes(cc)) ? true : undefined));
    await sub.stop();
    expect(seen.join('\n')).not.toContain(reference);
    expect(stack.logs.join('\n')).not.toContain(reference);
  });
});
