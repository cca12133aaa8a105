import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { proceedingsModule } from '@trm/proceedings';
import { referralsModule } from '@trm/referrals';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendSourceEvent } from './support/source-events.js';
import { type Stack, notification, startStack } from './support/stack.js';

/**
 * End to end through real PostgreSQL and JetStream: referrals notifies the case, proceedings
 * learns of it and of its participants only from NATS, and the walk-through runs over HTTP.
 */
let stack: Stack;
let tokens: Record<'ngoNotifier' | 'ngoCoordinator' | 'anitpCase' | 'anitpCoordinator' | 'police' | 'consulate' | 'shelter', string>;
const start = new Date('2026-11-20T10:00:00.000Z');

beforeAll(async () => {
  stack = await startStack({ modules: [referralsModule, proceedingsModule], now: start });
  tokens = {
    ngoNotifier: await stack.token('ngo-it', ['notifier', 'case_officer']),
    ngoCoordinator: await stack.token('ngo-it', ['proceedings_coordinator']),
    anitpCase: await stack.token('anitp', ['case_officer']),
    anitpCoordinator: await stack.token('anitp', ['proceedings_coordinator']),
    police: await stack.token('police-it', ['case_officer']),
    consulate: await stack.token('consulate-ro-it', ['consular_officer', 'proceedings_coordinator']),
    shelter: await stack.token('provider-shelter', ['service_provider', 'proceedings_coordinator']),
  };
});
afterAll(async () => stack?.close());

const auth = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Referrals' ParticipantAdded has no HTTP route yet (issue 3): publish its envelope as the relay would. */
async function publishReferralsEvent(type: string, data: Record<string, unknown>): Promise<void> {
  await appendSourceEvent(stack.db, stack.bus, { service: 'referrals', streamId: `case-${String(data.caseId)}`, type, data, now: stack.clock.now, relays: stack.relays });
}

/** A notified and acknowledged case with police-it and ngo-it (supporting the victim) taking part. */
async function caseWithParticipants(): Promise<string> {
  const created = await stack.app.inject({ method: 'POST', url: '/v1/cases', headers: auth(tokens.ngoNotifier), payload: notification() });
  expect(created.statusCode).toBe(201);
  const caseId: string = created.json().caseId;
  const ack = await stack.app.inject({
    method: 'POST',
    url: `/v1/cases/${caseId}/acknowledgement`,
    headers: auth(tokens.anitpCase),
    payload: { keyContactId: 'officer-1', alternateContactId: 'officer-2', regionalCentreId: 'anitp-rc-bucharest' },
  });
  expect(ack.statusCode).toBe(200);
  await publishReferralsEvent('ParticipantAdded', { caseId, organisationId: 'police-it', organisationType: 'law_enforcement', purpose: 'law_enforcement' });
  await publishReferralsEvent('ParticipantAdded', { caseId, organisationId: 'ngo-it', organisationType: 'ngo', purpose: 'proceedings_support' });
  await publishReferralsEvent('ParticipantAdded', { caseId, organisationId: 'consulate-ro-it', organisationType: 'consulate', purpose: 'travel_documents' });
  for (const token of [tokens.police, tokens.ngoCoordinator, tokens.anitpCoordinator]) {
    await until('proceedings to learn the case and its participants', async () => {
      const res = await stack.app.inject({ url: `/v1/proceedings/${caseId}`, headers: auth(token) });
      return res.statusCode === 200 ? res : undefined;
    });
  }
  return caseId;
}

async function post(token: string, url: string, payload: object, headers: Record<string, string> = {}) {
  return stack.app.inject({ method: 'POST', url, headers: auth(token, headers), payload });
}

async function proceedingsEvents(caseId: string): Promise<Array<{ event_type: string; data: any }>> {
  const { rows } = await sql<{ event_type: string; data: any }>`
    select event_type, data from proceedings.events where stream_id = ${`proceedings-${caseId}`} order by stream_version`.execute(stack.db);
  return rows;
}

describe('walk-through: participation consent to trial outcome and compensation', () => {
  it('runs the proceedings, detects an overdue information duty, and publishes every event on NATS', async () => {
    stack.clock.now = start;
    const caseId = await caseWithParticipants();
    const base = `/v1/proceedings/${caseId}`;

    // Nothing happens before the victim consents; a notification never implies it.
    const early = await post(tokens.police, `${base}/criminal-cases`, { country: 'IT', authorityType: 'prosecutor', offence: 'trafficking_in_persons' });
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ code: 'proceedings-conditions-unmet', unmet: ['participation-consent-missing'] });

    const consent = await post(tokens.ngoCoordinator, `${base}/participation`, { consentedOn: '2026-11-20' }, { 'idempotency-key': `c-${caseId}` });
    expect(consent.statusCode).toBe(201);
    expect(consent.json().proceedings.participation).toBe('consented');

    const linked = await post(tokens.police, `${base}/criminal-cases`, {
      country: 'IT',
      authorityType: 'prosecutor',
      offence: 'trafficking_in_persons',
      stage: 'investigation',
      reference: 'RGNR 4711/2026',
    });
    expect(linked.statusCode).toBe(201);
    const criminalCaseId: string = linked.json().created.criminalCaseId;
    const cc = `${base}/criminal-cases/${criminalCaseId}`;

    const toProsecution = await post(tokens.police, `${cc}/stage`, { stage: 'prosecution', changedOn: '2026-11-20' });
    expect(toProsecution.statusCode).toBe(200);
    const prosecutionDuty: string = toProsecution.json().created.dutyId;

    // Six days later nobody has told the victim: the duty is overdue for the coordinator.
    stack.clock.now = new Date(start.getTime() + 6 * 86_400_000);
    const overdue = await stack.app.inject({ url: `/v1/proceedings/duties?status=overdue&caseId=${caseId}`, headers: auth(tokens.ngoCoordinator) });
    expect(overdue.statusCode).toBe(200);
    expect(overdue.json().items).toEqual([expect.objectContaining({ dutyId: prosecutionDuty, kind: 'stage_change', overdue: true, status: 'open' })]);
    const anitpView = await stack.app.inject({ url: `/v1/proceedings/duties?status=overdue&caseId=${caseId}`, headers: auth(tokens.anitpCoordinator) });
    expect(anitpView.json().items.map((d: { dutyId: string }) => d.dutyId)).toEqual([prosecutionDuty]);

    const late = await post(tokens.ngoCoordinator, `${base}/victim-informed`, { dutyIds: [prosecutionDuty], channel: 'through_legal_counsel' });
    expect(late.statusCode).toBe(201);
    expect(late.json().proceedings.duties).toEqual([expect.objectContaining({ dutyId: prosecutionDuty, status: 'fulfilled', late: true, overdue: false })]);

    expect((await post(tokens.ngoCoordinator, `${base}/legal-counsel`, { counselOrganisationId: 'ngo-it', freeOfCharge: true, assignedOn: '2026-11-26' })).statusCode).toBe(201);
    expect((await post(tokens.police, `${base}/interpreters`, { criminalCaseId, language: 'ro', assignedOn: '2026-11-26' })).statusCode).toBe(201);
    expect((await post(tokens.police, `${cc}/protection-measures`, { measure: 'video_testimony', grantedOn: '2026-11-26' })).statusCode).toBe(201);

    const trial = await post(tokens.police, `${cc}/stage`, { stage: 'trial', changedOn: '2026-11-26' });
    const hearing = await post(tokens.police, `${cc}/hearings`, { date: '2027-01-15', country: 'IT', remoteTestimonyPossible: true, victimToTestify: true });
    expect(hearing.statusCode).toBe(201);
    const informed = await post(tokens.ngoCoordinator, `${base}/victim-informed`, { dutyIds: [trial.json().created.dutyId, hearing.json().created.dutyId], channel: 'in_person' });
    expect(informed.statusCode).toBe(201);

    const claim = await post(tokens.ngoCoordinator, `${cc}/compensation-claims`, { claimed: { amount: '25000.00', currency: 'EUR' }, against: 'offender', claimedOn: '2026-11-26' });
    expect(claim.statusCode).toBe(201);
    const outcome = await post(tokens.police, `${cc}/outcomes`, { outcome: { kind: 'conviction', sentence: 'suspended', lengthMonths: 24 }, decidedOn: '2026-11-26' });
    expect(outcome.statusCode).toBe(201);
    const decided = await post(tokens.police, `${base}/compensation-claims/${claim.json().created.claimId}/decision`, {
      decision: 'awarded',
      awarded: { amount: '15000.00', currency: 'EUR' },
      paid: false,
      decidedOn: '2026-11-26',
    });
    expect(decided.statusCode).toBe(200);
    const outcomeInformed = await post(tokens.anitpCoordinator, `${base}/victim-informed`, { dutyIds: [outcome.json().created.dutyId], channel: 'phone' });
    expect(outcomeInformed.statusCode).toBe(201);

    const file = await stack.app.inject({ url: base, headers: auth(tokens.police) });
    expect(file.statusCode).toBe(200);
    const view = file.json();
    expect(view.criminalCases[0]).toMatchObject({
      stage: 'trial',
      outcomes: [{ stage: 'trial', outcome: { kind: 'conviction', sentence: 'suspended', lengthMonths: 24 } }],
      protectionMeasures: [{ measure: 'video_testimony' }],
      hearings: [{ remoteTestimonyPossible: true }],
    });
    expect(view.claims[0].decision).toMatchObject({ decision: 'awarded', awarded: { amount: '15000.00', currency: 'EUR' }, paid: false });
    expect(view.duties.every((d: { status: string }) => d.status === 'fulfilled')).toBe(true);
    expect(file.headers.etag).toBe(`"${view.version}"`);

    const types = (await proceedingsEvents(caseId)).map((e) => e.event_type);
    expect(types).toEqual([
      'ParticipationConsented',
      'CriminalCaseLinked',
      'StageChanged',
      'VictimInformed',
      'LegalCounselAssigned',
      'InterpreterAssigned',
      'ProtectionMeasureGranted',
      'StageChanged',
      'HearingScheduled',
      'VictimInformed',
      'CompensationClaimed',
      'OutcomeRecorded',
      'CompensationDecided',
      'VictimInformed',
    ]);

    // The relay publishes them for statistics and the ledger, with no trace of the reference.
    const seen = new Map<string, string>();
    const sub = await stack.bus.consume(
      { durable: `walk-${randomUUID().slice(0, 8)}`, filterSubject: `${stack.subjectsPrefix}.proceedings.>`, maxDeliver: 1 },
      async (d) => {
        seen.set(d.msgId, `${d.subject} ${new TextDecoder().decode(d.data)}`);
        d.ack();
      },
    );
    await until('the relay to publish the proceedings events', async () => (seen.size >= types.length ? true : undefined));
    await sub.stop();
    const texts = [...seen.values()];
    expect(texts.some((t) => t.startsWith(`${stack.subjectsPrefix}.proceedings.outcome-recorded `))).toBe(true);
    expect(texts.some((t) => t.startsWith(`${stack.subjectsPrefix}.proceedings.compensation-decided `))).toBe(true);
    expect(texts.join('\n')).not.toContain('4711/2026');
  });
});

describe('walk-through: participation withdrawn', () => {
  it('stops the victim side\'s commands but not the right to be informed; consent can be given again; a victim who asked not to be informed is not', async () => {
    stack.clock.now = start;
    const caseId = await caseWithParticipants();
    const base = `/v1/proceedings/${caseId}`;
    expect((await post(tokens.anitpCoordinator, `${base}/participation`, { consentedOn: '2026-11-19' })).statusCode).toBe(201);
    const linked = await post(tokens.police, `${base}/criminal-cases`, { country: 'IT', authorityType: 'police', offence: 'forced_labour' });
    const cc = `${base}/criminal-cases/${linked.json().created.criminalCaseId}`;
    const stage = await post(tokens.police, `${cc}/stage`, { stage: 'prosecution', changedOn: '2026-11-20' });
    expect(stage.statusCode).toBe(200);

    const withdrawn = await post(tokens.ngoCoordinator, `${base}/participation/withdrawal`, { withdrawnOn: '2026-11-20' });
    expect(withdrawn.statusCode).toBe(200);
    expect(withdrawn.json().proceedings).toMatchObject({ participation: 'withdrawn', informationDeclined: false, duties: [{ status: 'open' }] });

    // The victim side's own acts stop…
    const before = (await proceedingsEvents(caseId)).length;
    const refused = [
      await post(tokens.ngoCoordinator, `${cc}/compensation-claims`, { claimed: { amount: '100.00', currency: 'EUR' }, against: 'offender', claimedOn: '2026-11-20' }),
      await post(tokens.ngoCoordinator, `${base}/legal-counsel`, { freeOfCharge: true, assignedOn: '2026-11-20' }),
      await post(tokens.ngoCoordinator, `${base}/participation/withdrawal`, { withdrawnOn: '2026-11-20' }),
    ];
    for (const res of refused) {
      expect(res.statusCode).toBe(409);
      expect(res.json().unmet).toContain('participation-withdrawn');
    }
    expect((await proceedingsEvents(caseId)).length).toBe(before);

    // …but stages, hearings, an offender's release and informing the victim go on.
    const trial = await post(tokens.police, `${cc}/stage`, { stage: 'trial', changedOn: '2026-11-20' });
    expect(trial.statusCode).toBe(200);
    const hearing = await post(tokens.police, `${cc}/hearings`, { date: '2027-01-15', country: 'IT', remoteTestimonyPossible: false });
    expect(hearing.statusCode).toBe(201);
    const release = await post(tokens.police, `${cc}/offender-releases`, { kind: 'escaped', releasedOn: '2026-11-20' });
    expect(release.statusCode).toBe(201);
    const informed = await post(tokens.ngoCoordinator, `${base}/victim-informed`, { dutyIds: [stage.json().created.dutyId, release.json().created.dutyId], channel: 'phone' });
    expect(informed.statusCode).toBe(201);
    // Duties not fulfilled are overdue after their deadline, withdrawal or not.
    stack.clock.now = new Date(start.getTime() + 30 * 86_400_000);
    const overdue = await stack.app.inject({ url: `/v1/proceedings/duties?status=overdue&caseId=${caseId}`, headers: auth(tokens.ngoCoordinator) });
    expect(overdue.json().items.map((d: { kind: string }) => d.kind).sort()).toEqual(['hearing', 'stage_change']);

    // Consent given again after the withdrawal.
    const again = await post(tokens.ngoCoordinator, `${base}/participation`, { consentedOn: '2026-12-19' });
    expect(again.statusCode, again.body).toBe(201);
    expect(again.json().proceedings.participation).toBe('consented');

    // Withdrawing again, asking not to be informed: open duties lapse, no new one arises.
    const declined = await post(tokens.ngoCoordinator, `${base}/participation/withdrawal`, { withdrawnOn: '2026-12-20', informationDeclined: true });
    expect(declined.statusCode).toBe(200);
    expect(declined.json().proceedings).toMatchObject({ participation: 'withdrawn', informationDeclined: true });
    expect(declined.json().proceedings.duties.filter((d: { status: string }) => d.status === 'open')).toEqual([]);
    const later = await post(tokens.police, `${cc}/hearings`, { date: '2027-02-15', country: 'IT', remoteTestimonyPossible: false });
    expect(later.statusCode).toBe(201);
    expect(later.json().proceedings.duties.some((d: { dutyId: string }) => d.dutyId === later.json().created.dutyId)).toBe(false);
    const notInformed = await post(tokens.ngoCoordinator, `${base}/victim-informed`, { dutyIds: [hearing.json().created.dutyId], channel: 'phone' });
    expect(notInformed.statusCode).toBe(409);
    expect(notInformed.json().unmet).toContain('victim-declined-information');

    // History stays readable; lapsed duties are never overdue.
    const file = await stack.app.inject({ url: base, headers: auth(tokens.police) });
    expect(file.statusCode).toBe(200);
    expect(file.json()).toMatchObject({ participation: 'withdrawn', criminalCases: [{ stage: 'trial' }] });
    const none = await stack.app.inject({ url: `/v1/proceedings/duties?status=overdue&caseId=${caseId}`, headers: auth(tokens.ngoCoordinator) });
    expect(none.json().items).toEqual([]);
    stack.clock.now = start;
  });
});
