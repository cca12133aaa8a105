import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proceedingsModule } from '@trm/proceedings';
import { referralsModule } from '@trm/referrals';
import { repatriationModule } from '@trm/repatriation';
import { type Stack, notification, startStack } from './support/stack.js';

/**
 * Issue 13, findings 4, 6, 7 and the per-case limits of 10, written as the attacker would send
 * them, against referrals, repatriation and proceedings together on real PostgreSQL and
 * JetStream (the other services learn the case from referrals' real events).
 */
let stack: Stack;
const start = new Date('2026-11-20T10:00:00.000Z');
type Who = 'ngo' | 'ngoCoordinator' | 'anitp' | 'anitpCoordinator' | 'shelter' | 'dgaspc' | 'consulate' | 'police' | 'policeCoordinator' | 'anitpOther';
const t = {} as Record<Who, string>;

beforeAll(async () => {
  // The access coalescing window is a policy: 120 s here proves it is read from the environment.
  stack = await startStack({
    modules: [referralsModule, repatriationModule, proceedingsModule],
    now: start,
    env: { TRM_DEADLINE_SCAN_SECONDS: '0.3', TRM_ACCESS_COALESCE_SECONDS: '120' },
  });
  t.ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  t.ngoCoordinator = await stack.token('ngo-it', ['proceedings_coordinator']);
  t.anitp = await stack.token('anitp', ['case_officer']);
  t.anitpCoordinator = await stack.token('anitp', ['case_officer', 'proceedings_coordinator']);
  t.anitpOther = await stack.token('anitp', ['case_officer'], { sub: 'another-officer' });
  t.shelter = await stack.token('provider-shelter', ['service_provider']);
  t.dgaspc = await stack.token('dgaspc-bucharest', ['child_protection_officer']);
  t.consulate = await stack.token('consulate-ro-it', ['consular_officer']);
  t.police = await stack.token('police-it', ['notifier', 'case_officer']);
  t.policeCoordinator = await stack.token('police-it', ['notifier', 'case_officer', 'proceedings_coordinator']);
}, 120_000);
afterAll(async () => stack?.close());

const call = (who: Who, method: 'GET' | 'POST', url: string, payload?: object, headers: Record<string, string> = {}) =>
  stack.app.inject({ method, url, headers: { authorization: `Bearer ${t[who]}`, ...headers }, ...(payload ? { payload } : {}) });

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function newCase(who: Who = 'ngo', over: Record<string, unknown> = {}): Promise<string> {
  const res = await call(who, 'POST', '/v1/cases', notification(over));
  expect(res.statusCode, res.body).toBe(201);
  return res.json().caseId;
}
const ok = async (p: ReturnType<typeof call>, status = 200) => {
  const res = await p;
  expect(res.statusCode, res.body).toBe(status);
  return res;
};
const consent = (caseId: string, purpose: string, sharingWith?: string) =>
  ok(call('anitp', 'POST', `/v1/cases/${caseId}/consents`, { purpose, ...(sharingWith ? { sharingWith } : {}), givenOn: '2026-11-20' }));
const addParticipant = (caseId: string, organisationId: string, purpose: string) => call('anitp', 'POST', `/v1/cases/${caseId}/participants`, { organisationId, purpose });
const removeParticipant = (caseId: string, organisationId: string, purpose: string) =>
  ok(call('anitp', 'POST', `/v1/cases/${caseId}/participants/removal`, { organisationId, purpose }));
const ask = async (caseId: string, requestedFrom: string, items: string[]): Promise<string> =>
  (await ok(call('anitp', 'POST', `/v1/cases/${caseId}/information-requests`, { requestedFrom, items }), 201)).json().id;

async function eventCount(schema: 'referrals' | 'repatriation' | 'proceedings'): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(`${schema}.events`)}`.execute(stack.db);
  return Number(rows[0]!.n);
}
async function vaultRows(caseId: string): Promise<string> {
  const { rows } = await sql<{ r: string }>`select string_agg(field || ':' || ciphertext, ',' order by field) as r from referrals.vault_fields where subject_id = ${caseId}`.execute(stack.db);
  return rows[0]!.r;
}
const personalData = (who: Who, caseId: string, purpose = 'case_management') => call(who, 'GET', `/v1/cases/${caseId}/personal-data?purpose=${purpose}`);

describe('finding 6: an answer to a request for information writes only what was asked', () => {
  it('refuses items outside the request with 422 naming them (never their values), and writes nothing', async () => {
    const caseId = await newCase('ngo', { person: { givenName: 'Ana', familyName: 'Example', narrative: 'ORIGINAL-NARRATIVE-61' } });
    const requestId = await ask(caseId, 'ngo-it', ['birthDate']);
    const events = await eventCount('referrals');
    const vault = await vaultRows(caseId);
    const res = await call('ngo', 'POST', `/v1/cases/${caseId}/information-requests/${requestId}/answer`, {
      person: { birthDate: '2001-02-03', narrative: 'FORGED-NARRATIVE-62', health: 'HEALTH-VALUE-63' },
    });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ code: 'information-not-requested', unmet: ['only-requested-items'] });
    expect(res.json().errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/person/health', '/person/narrative']);
    for (const value of ['FORGED-NARRATIVE-62', 'HEALTH-VALUE-63', '2001-02-03', 'ORIGINAL-NARRATIVE-61']) expect(res.body).not.toContain(value);
    expect(await eventCount('referrals')).toBe(events);
    expect(await vaultRows(caseId)).toBe(vault);
    // The request is still open: the items asked for are accepted.
    await ok(call('ngo', 'POST', `/v1/cases/${caseId}/information-requests/${requestId}/answer`, { person: { birthDate: '2001-02-03' } }));
    const data = (await ok(personalData('anitp', caseId))).json().data;
    expect(data).toMatchObject({ birthDate: '2001-02-03', narrative: 'ORIGINAL-NARRATIVE-61' });
    expect(data).not.toHaveProperty('health');
  });

  it('lets the organisation asked add to items it cannot read, never overwrite them', async () => {
    const caseId = await newCase('ngo', {
      person: { givenName: 'Ana', familyName: 'Example', narrative: 'ORIGINAL-NARRATIVE-64', documents: [{ kind: 'birth_certificate', number: 'BC-0064', issuingCountry: 'RO' }] },
    });
    await consent(caseId, 'assistance');
    await consent(caseId, 'sharing', 'provider-shelter');
    await ok(call('anitp', 'POST', `/v1/cases/${caseId}/service-referrals`, { service: 'shelter', providerOrganisationId: 'provider-shelter' }), 201);
    const requestId = await ask(caseId, 'provider-shelter', ['narrative', 'documents']);
    const url = `/v1/cases/${caseId}/information-requests/${requestId}/answer`;
    const events = await eventCount('referrals');
    const vault = await vaultRows(caseId);

    // The shelter reads names and contacts only: it may not write over the NGO's narrative.
    const overwrite = await call('shelter', 'POST', url, { person: { narrative: 'FORGED-NARRATIVE-65' } });
    expect(overwrite.statusCode).toBe(409);
    expect(overwrite.json()).toMatchObject({ code: 'information-overwrite-refused', unmet: ['present-items-not-readable'] });
    expect(overwrite.json().errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/person/narrative']);
    expect(overwrite.body).not.toContain('FORGED-NARRATIVE-65');
    expect(await eventCount('referrals')).toBe(events);
    expect(await vaultRows(caseId)).toBe(vault);

    // A document it holds is added to the list it cannot read, not put in its place.
    await ok(call('shelter', 'POST', url, { person: { documents: [{ kind: 'passport', number: 'PP-0066', issuingCountry: 'RO' }] } }));
    const data = (await ok(personalData('anitp', caseId))).json().data;
    expect(data.documents.map((d: { number: string }) => d.number)).toEqual(['BC-0064', 'PP-0066']);
    expect(data.narrative).toBe('ORIGINAL-NARRATIVE-64');
    const { rows } = await sql<{ data: { appendedItems?: string[]; items: string[] } }>`
      select data from referrals.events where stream_id = ${`case-${caseId}`} and event_type = 'InformationProvided'`.execute(stack.db);
    expect(rows.map((r) => r.data)).toEqual([expect.objectContaining({ items: ['documents'], appendedItems: ['documents'] })]);
  });
});

describe('finding 7: removal removes', () => {
  it('takes the case out of the removed organisation’s GET /v1/deadlines', async () => {
    const caseId = await newCase();
    await ok(addParticipant(caseId, 'dgaspc-bucharest', 'child_protection'));
    await ask(caseId, 'dgaspc-bucharest', ['health']);
    const mine = async (who: Who) => (await ok(call(who, 'GET', '/v1/deadlines?limit=100'))).json().items.filter((d: { caseId: string }) => d.caseId === caseId);
    expect(await mine('dgaspc')).toEqual([expect.objectContaining({ kind: 'information_request' })]);
    await removeParticipant(caseId, 'dgaspc-bucharest', 'child_protection');
    expect(await mine('dgaspc')).toEqual([]);
    // Nor in its list of cases.
    const list = (await ok(call('dgaspc', 'GET', '/v1/cases?limit=100'))).json().items.map((c: { caseId: string }) => c.caseId);
    expect(list).not.toContain(caseId);
    const { rows } = await sql<{ owners: string[] }>`select owner_org_ids as owners from referrals.case_deadlines where case_id = ${caseId} and kind = 'information_request'`.execute(stack.db);
    expect(rows.map((r) => r.owners)).toEqual([[]]);
    // The contact point still follows the unanswered request.
    expect((await mine('anitp')).map((d: { kind: string }) => d.kind)).toContain('information_request');
  });

  it('does not replay a stored case view (Idempotency-Key) to an organisation removed since', async () => {
    const caseId = await newCase();
    await ok(addParticipant(caseId, 'dgaspc-bucharest', 'child_protection'));
    const key = { 'idempotency-key': `flag-${caseId}` };
    const first = await ok(call('dgaspc', 'POST', `/v1/cases/${caseId}/risk-flags`, { kind: 'lost_contact', level: 'medium' }, key));
    expect(first.json().view).toBe('child_protection');
    await removeParticipant(caseId, 'dgaspc-bucharest', 'child_protection');
    const missing = await call('dgaspc', 'GET', `/v1/cases/${caseId}`);
    expect(missing.statusCode).toBe(404);
    const replay = await call('dgaspc', 'POST', `/v1/cases/${caseId}/risk-flags`, { kind: 'lost_contact', level: 'medium' }, key);
    expect(replay.statusCode).toBe(404);
    expect(replay.body).not.toContain('child_protection');
    expect({ ...replay.json(), requestId: 'x' }).toEqual({ ...missing.json(), requestId: 'x' });
  });

  it('does not replay a stored return to a consulate removed since (repatriation)', async () => {
    const caseId = await newCase();
    await consent(caseId, 'return');
    await ok(addParticipant(caseId, 'consulate-ro-it', 'travel_documents'));
    const body = { caseId, plannedDepartureDate: '2026-12-10', needs: ['shelter'], escortRequired: false, travelDocumentNeeded: true };
    const returnId = await until('the case to reach repatriation', async () => {
      const res = await call('ngo', 'POST', '/v1/returns', body, { 'idempotency-key': `ret-${caseId}` });
      return res.statusCode === 201 ? (res.json().returnId as string) : undefined;
    });
    const url = `/v1/returns/${returnId}/travel-document/request`;
    const key = { 'idempotency-key': `doc-${caseId}` };
    await until('the consulate to take part in repatriation', async () => (await call('consulate', 'POST', url, { consulateId: 'consulate-ro-it' }, key)).statusCode === 200);
    await removeParticipant(caseId, 'consulate-ro-it', 'travel_documents');
    await until('the removal to reach repatriation', async () => (await call('consulate', 'GET', `/v1/returns/${returnId}`)).statusCode === 404);
    const replay = await call('consulate', 'POST', url, { consulateId: 'consulate-ro-it' }, key);
    expect(replay.statusCode).toBe(404);
    expect(replay.body).not.toContain(returnId);
    // Nor in its lists of returns and of return deadlines.
    for (const list of ['/v1/returns?limit=100', '/v1/returns/deadlines?limit=100']) {
      expect((await ok(call('consulate', 'GET', list))).body).not.toContain(caseId);
    }
  });

  it('does not replay stored proceedings, nor list duties, to a supporting organisation removed since (proceedings)', async () => {
    const caseId = await newCase('police', { situation: 'identified_by_law_enforcement' });
    await ok(addParticipant(caseId, 'ngo-it', 'proceedings_support'));
    const url = `/v1/proceedings/${caseId}/participation`;
    const key = { 'idempotency-key': `part-${caseId}` };
    await until('the case to reach proceedings', async () => (await call('ngoCoordinator', 'POST', url, { consentedOn: '2026-11-20' }, key)).statusCode === 201);
    const linked = await ok(call('police', 'POST', `/v1/proceedings/${caseId}/criminal-cases`, { country: 'IT', authorityType: 'prosecutor', offence: 'trafficking_in_persons' }), 201);
    await ok(call('police', 'POST', `/v1/proceedings/${caseId}/criminal-cases/${linked.json().created.criminalCaseId}/stage`, { stage: 'prosecution', changedOn: '2026-11-20' }));
    const duties = async () => (await ok(call('ngoCoordinator', 'GET', `/v1/proceedings/duties?caseId=${caseId}`))).json().items;
    expect(await duties()).toHaveLength(1);
    await removeParticipant(caseId, 'ngo-it', 'proceedings_support');
    await until('the removal to reach proceedings', async () => (await call('ngoCoordinator', 'GET', `/v1/proceedings/${caseId}`)).statusCode === 404);
    const replay = await call('ngoCoordinator', 'POST', url, { consentedOn: '2026-11-20' }, key);
    expect(replay.statusCode).toBe(404);
    expect(replay.body).not.toContain('consented');
    expect(await duties()).toEqual([]);
  });
});

describe('finding 4: law enforcement stays law enforcement', () => {
  it('cannot be added for proceedings_support', async () => {
    const caseId = await newCase();
    const events = await eventCount('referrals');
    const res = await addParticipant(caseId, 'police-it', 'proceedings_support');
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'invalid-participant', unmet: ['organisation-type-does-not-fit-purpose'] });
    expect(await eventCount('referrals')).toBe(events);
  });

  it('cannot record the victim’s consents, even as the notifying police unit (409, nothing written)', async () => {
    const caseId = await newCase('police', { situation: 'identified_by_law_enforcement' });
    const events = await eventCount('referrals');
    for (const body of [
      { purpose: 'proceedings', givenOn: '2026-11-20' },
      { purpose: 'sharing', sharingWith: 'police-it', givenOn: '2026-11-20' },
    ]) {
      const res = await call('police', 'POST', `/v1/cases/${caseId}/consents`, body);
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'law-enforcement-not-victims-side', unmet: ['recorder-not-law-enforcement'] });
    }
    await consent(caseId, 'research');
    const withdrawal = await call('police', 'POST', `/v1/cases/${caseId}/consents/withdrawal`, { purpose: 'research', withdrawnOn: '2026-11-20' });
    expect(withdrawal.statusCode).toBe(409);
    expect(withdrawal.json().code).toBe('law-enforcement-not-victims-side');
    expect(await eventCount('referrals')).toBe(events + 1);
  });

  it('reads only what it submitted itself, unless the person consented to share with it', async () => {
    const caseId = await newCase('police', { situation: 'identified_by_law_enforcement', person: { givenName: 'Ana', familyName: 'Example' } });
    await ok(addParticipant(caseId, 'dgaspc-bucharest', 'child_protection'));
    const requestId = await ask(caseId, 'dgaspc-bucharest', ['narrative', 'health']);
    await ok(call('dgaspc', 'POST', `/v1/cases/${caseId}/information-requests/${requestId}/answer`, { person: { narrative: 'NARRATIVE-FROM-DGASPC-41', health: 'HEALTH-FROM-DGASPC-42' } }));
    const own = await ok(personalData('police', caseId));
    expect(Object.keys(own.json().data).sort()).toEqual(['familyName', 'givenName']);
    expect(own.body).not.toContain('NARRATIVE-FROM-DGASPC-41');
    expect(own.body).not.toContain('HEALTH-FROM-DGASPC-42');
    await consent(caseId, 'sharing', 'police-it');
    const shared = await ok(personalData('police', caseId));
    expect(shared.json().data).toMatchObject({ narrative: 'NARRATIVE-FROM-DGASPC-41' });
  });

  it('cannot record the victim’s participation in proceedings, even with a proceedings_support row from before the rule', async () => {
    const caseId = await newCase('police', { situation: 'identified_by_law_enforcement' });
    await until('the case to reach proceedings', async () => (await call('police', 'GET', `/v1/proceedings/${caseId}`)).statusCode === 200);
    // What the consumer applied from a ParticipantAdded recorded before referrals refused it.
    await sql`insert into proceedings.case_parties (case_id, organisation_id, organisation_type, purpose) values (${caseId}, 'police-it', 'law_enforcement', 'proceedings_support')`.execute(stack.db);
    const events = await eventCount('proceedings');
    const res = await call('policeCoordinator', 'POST', `/v1/proceedings/${caseId}/participation`, { consentedOn: '2026-11-20' });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('law-enforcement-not-victims-side');
    expect(await eventCount('proceedings')).toBe(events);

    // The victim consents through the contact point; a stage change opens a duty to inform her.
    await ok(call('anitpCoordinator', 'POST', `/v1/proceedings/${caseId}/participation`, { consentedOn: '2026-11-20' }), 201);
    const linked = await ok(call('police', 'POST', `/v1/proceedings/${caseId}/criminal-cases`, { country: 'IT', authorityType: 'prosecutor', offence: 'trafficking_in_persons' }), 201);
    const criminalCaseId = linked.json().created.criminalCaseId;
    await ok(call('police', 'POST', `/v1/proceedings/${caseId}/criminal-cases/${criminalCaseId}/stage`, { stage: 'prosecution', changedOn: '2026-11-20' }));
    const duties = async (who: Who) => (await ok(call(who, 'GET', `/v1/proceedings/duties?caseId=${caseId}`))).json().items;
    expect(await duties('anitpCoordinator')).toHaveLength(1);
    // The duties to inform the victim are the victim side's, not the police's.
    expect(await duties('policeCoordinator')).toEqual([]);
  });
});

describe('finding 10: a participant cannot grow a case without limit', () => {
  const flagEvents = async (caseId: string) => {
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from referrals.events where stream_id = ${`case-${caseId}`} and event_type = 'RiskFlagRaised'`.execute(stack.db);
    return Number(rows[0]!.n);
  };

  it('coalesces identical risk flags from the same organisation: 200, says so, no new event; never refuses one', async () => {
    const caseId = await newCase();
    await ok(addParticipant(caseId, 'dgaspc-bucharest', 'child_protection'));
    const first = await ok(call('dgaspc', 'POST', `/v1/cases/${caseId}/risk-flags`, { kind: 'threat', level: 'high' }));
    expect(first.headers['risk-flag-coalesced']).toBe('false');
    for (let i = 0; i < 5; i++) {
      const again = await ok(call('dgaspc', 'POST', `/v1/cases/${caseId}/risk-flags`, { kind: 'threat', level: 'high' }));
      expect(again.headers['risk-flag-coalesced']).toBe('true');
      expect(again.headers.etag).toBe(first.headers.etag);
    }
    expect(await flagEvents(caseId)).toBe(1);
    // Another organisation's flag, another level or another kind is a new fact.
    expect((await ok(call('ngo', 'POST', `/v1/cases/${caseId}/risk-flags`, { kind: 'threat', level: 'high' }))).headers['risk-flag-coalesced']).toBe('false');
    await ok(call('dgaspc', 'POST', `/v1/cases/${caseId}/risk-flags`, { kind: 're_trafficking', level: 'high' }));
    await ok(call('dgaspc', 'POST', `/v1/cases/${caseId}/risk-flags`, { kind: 'threat', level: 'medium' }));
    expect(await flagEvents(caseId)).toBe(4);
    const view = (await ok(call('dgaspc', 'GET', `/v1/cases/${caseId}`))).json();
    expect(view.riskFlags).toHaveLength(4);
  });

  it('records repeated reads by the same actor within the policy window as one later event with their count and first and last time', async () => {
    const caseId = await newCase();
    const accessEvents = async () => {
      const { rows } = await sql<{ data: Record<string, unknown>; actor: string; v: number }>`
        select data, metadata->>'actor' as actor, schema_version as v from referrals.events
        where stream_id = ${`case-access-${caseId}`} order by global_position`.execute(stack.db);
      return rows;
    };
    const base = stack.clock.now.getTime();
    const at = (seconds: number) => {
      stack.clock.now = new Date(base + seconds * 1000);
      return stack.clock.now.toISOString();
    };
    try {
      at(0);
      await ok(personalData('anitp', caseId));
      const second = at(30);
      await ok(personalData('anitp', caseId));
      await ok(personalData('anitp', caseId));
      const fourth = at(90);
      await ok(personalData('anitp', caseId));
      // Another actor of the same organisation is another reader: its first read is recorded at once.
      await ok(personalData('anitpOther', caseId));
      let events = await accessEvents();
      expect(events.map((e) => [e.actor, e.data.count])).toEqual([
        ['user-of-anitp', 1],
        ['another-officer', 1],
      ]);
      expect(events[0]!.v).toBe(3);

      // Once the window is over the repeats are recorded, by the scheduler, as one event.
      at(121);
      events = await until('the repeats to be recorded', async () => {
        const e = await accessEvents();
        return e.length >= 3 ? e : undefined;
      });
      expect(events).toHaveLength(3);
      expect(events[2]).toMatchObject({
        actor: 'user-of-anitp',
        data: { caseId, organisationId: 'anitp', purpose: 'case_management', count: 3, firstReadAt: second, lastReadAt: fourth },
      });
      // Every read is accounted for.
      expect(events.reduce((n, e) => n + Number(e.data.count), 0)).toBe(5);

      // A read after the window opens a new one, recorded at once.
      at(200);
      await ok(personalData('anitp', caseId));
      events = await accessEvents();
      expect(events.map((e) => [e.actor, e.data.count])).toEqual([
        ['user-of-anitp', 1],
        ['another-officer', 1],
        ['user-of-anitp', 3],
        ['user-of-anitp', 1],
      ]);
    } finally {
      stack.clock.now = new Date(base);
    }
  });

  it('counts concurrent reads exactly: one event at once, the others in one later event', async () => {
    const caseId = await newCase();
    const base = stack.clock.now.getTime();
    try {
      const reads = await Promise.all(Array.from({ length: 8 }, () => personalData('anitp', caseId)));
      expect(reads.map((r) => r.statusCode)).toEqual(Array(8).fill(200));
      stack.clock.now = new Date(base + 121_000);
      const counts = await until('the repeats to be recorded', async () => {
        const { rows } = await sql<{ n: number }>`select (data->>'count')::int as n from referrals.events where stream_id = ${`case-access-${caseId}`} order by global_position`.execute(stack.db);
        return rows.length === 2 ? rows.map((r) => r.n) : undefined;
      });
      expect(counts).toEqual([1, 7]);
    } finally {
      stack.clock.now = new Date(base);
    }
  });
});
