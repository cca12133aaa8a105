import { randomUUID } from 'node:crypto';
import { createEventStore } from '@trm/event-store';
import { proceedingsModule } from '@trm/proceedings';
import { projectCaseEvents, referralsModule } from '@trm/referrals';
import { repatriationModule } from '@trm/repatriation';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, notification, startStack } from './support/stack.js';

/**
 * Issue 13, finding 3, as an attacker (or a careless default) would try it, against referrals and
 * proceedings on real PostgreSQL and JetStream: personal data is read only on a legal basis the
 * service checks and records; the notification goes to one contact point, which coordinates; the
 * contact point of a foreign victim's own country joins only with consent, never while
 * international protection is sought; a withdrawal ends consent-based reads at the next request;
 * proceedings refuses personal data while its facts lag behind referrals'; an old (version 1)
 * CaseNotified still reads.
 */
let stack: Stack;
type Who = 'ngo' | 'anitp' | 'anitpCoordinator' | 'admin' | 'consulate' | 'ncpMd' | 'police' | 'ngoCoordinator';
const t = {} as Record<Who, string>;
const tag = randomUUID().slice(0, 8);

beforeAll(async () => {
  stack = await startStack({ modules: [referralsModule, repatriationModule, proceedingsModule], now: new Date('2026-11-20T10:00:00.000Z'), env: { TRM_DEADLINE_SCAN_SECONDS: '3600', TRM_ACCESS_COALESCE_SECONDS: '0' } });
  t.ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  t.ngoCoordinator = await stack.token('ngo-it', ['proceedings_coordinator']);
  t.anitp = await stack.token('anitp', ['case_officer']);
  t.anitpCoordinator = await stack.token('anitp', ['case_officer', 'proceedings_coordinator']);
  t.admin = await stack.token('anitp', ['admin']);
  t.consulate = await stack.token('consulate-ro-it', ['consular_officer']);
  t.ncpMd = await stack.token('ncp-md', ['case_officer'], { orgType: 'national_contact_point' });
  t.police = await stack.token('police-it', ['notifier', 'case_officer']);
  // The central contact points of Moldova and Ukraine, as their registry entries would be.
  for (const [id, country] of [['ncp-md', 'MD'], ['ncp-ua', 'UA']] as const) {
    const res = await call('admin', 'POST', '/v1/organisations', { id, type: 'national_contact_point', country, name: `National contact point ${country}` });
    expect(res.statusCode, res.body).toBe(201);
  }
}, 120_000);
afterAll(async () => stack?.close());

const call = (who: Who, method: 'GET' | 'POST', url: string, payload?: object) =>
  stack.app.inject({ method, url, headers: { authorization: `Bearer ${t[who]}` }, ...(payload ? { payload } : {}) });
const ok = async (p: ReturnType<typeof call>, status = 200) => {
  const res = await p;
  expect(res.statusCode, res.body).toBe(status);
  return res;
};
async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
async function newCase(over: Record<string, unknown> = {}, who: Who = 'ngo'): Promise<{ caseId: string; body: ReturnType<typeof JSON.parse> }> {
  const res = await ok(call(who, 'POST', '/v1/cases', notification(over)), 201);
  return { caseId: res.json().caseId, body: res.json() };
}
const personalData = (who: Who, caseId: string, purpose = 'case_management') => call(who, 'GET', `/v1/cases/${caseId}/personal-data?purpose=${purpose}`);
const consent = (caseId: string, sharingWith: string) => ok(call('anitp', 'POST', `/v1/cases/${caseId}/consents`, { purpose: 'sharing', sharingWith, givenOn: '2026-11-20' }));
const withdraw = (caseId: string, sharingWith: string) => ok(call('anitp', 'POST', `/v1/cases/${caseId}/consents/withdrawal`, { purpose: 'sharing', sharingWith, withdrawnOn: '2026-11-20' }));
const ask = async (caseId: string, requestedFrom: string, items: string[]): Promise<string> =>
  (await ok(call('anitp', 'POST', `/v1/cases/${caseId}/information-requests`, { requestedFrom, items }), 201)).json().id;
async function eventCount(): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from referrals.events`.execute(stack.db);
  return Number(rows[0]!.n);
}
async function accessEvents(caseId: string, orgId: string) {
  const { rows } = await sql<{ data: Record<string, unknown>; v: number }>`
    select data, schema_version as v from referrals.events
    where stream_id = ${`case-access-${caseId}`} and data->>'organisationId' = ${orgId} order by global_position`.execute(stack.db);
  return rows;
}
/** Waits until a consumer of referrals' events has applied every event of the case stream. */
async function applied(schema: 'repatriation' | 'proceedings', consumer: string, caseId: string): Promise<void> {
  await until(`${consumer} to apply the case`, async () => {
    const { rows } = await sql<{ behind: boolean }>`
      select coalesce((select max(stream_version) from referrals.events where stream_id = ${`case-${caseId}`}), 0)
           > coalesce((select version from ${sql.table(`${schema}.consumer_streams`)} where consumer = ${consumer} and source = 'referrals' and stream_id = ${`case-${caseId}`}), 0) as behind`.execute(stack.db);
    return rows[0]!.behind === false;
  });
}
async function caseNotified(caseId: string) {
  const { rows } = await sql<{ data: Record<string, unknown>; v: number }>`
    select data, schema_version as v from referrals.events where stream_id = ${`case-${caseId}`} and event_type = 'CaseNotified'`.execute(stack.db);
  return rows[0]!;
}

/** A Moldovan woman identified in Romania (a foreign victim identified there), notified by the NGO. */
const foreignVictim = (over: Record<string, unknown> = {}) => ({
  situation: 'foreign_victim',
  countryOfIdentification: 'RO',
  countryOfExploitation: 'RO',
  citizenship: 'MD',
  returnWanted: false,
  plannedReturnDate: undefined,
  person: { givenName: `Maria${tag}`, familyName: `Ciobanu${tag}`, narrative: `Fled ${tag}` },
  ...over,
});

describe('legal bases of personal-data reads', () => {
  it('gives the notifier only what it submitted itself once the contact point added more, records each basis, and withholds the rest by name', async () => {
    const { caseId } = await newCase({ person: { givenName: `Ana${tag}`, familyName: `Example${tag}`, contacts: { phone: '+39 333 000 0000' } } });
    // The contact point adds items of its own; the consulate answers with a document.
    const own = await ask(caseId, 'anitp', ['narrative', 'health']);
    await ok(call('anitp', 'POST', `/v1/cases/${caseId}/information-requests/${own}/answer`, { person: { narrative: `NARRATIVE-${tag}`, health: `HEALTH-${tag}` } }));
    await ok(call('anitp', 'POST', `/v1/cases/${caseId}/participants`, { organisationId: 'consulate-ro-it', purpose: 'travel_documents' }));
    const fromConsulate = await ask(caseId, 'consulate-ro-it', ['documents', 'birthDate']);
    await ok(call('consulate', 'POST', `/v1/cases/${caseId}/information-requests/${fromConsulate}/answer`, { person: { birthDate: '2001-02-03', documents: [{ kind: 'passport', number: `PP${tag}`, issuingCountry: 'RO' }] } }));

    const read = await ok(personalData('ngo', caseId));
    expect(Object.keys(read.json().data).sort()).toEqual(['contacts', 'familyName', 'givenName']);
    expect(read.json().legalBases).toEqual([{ basis: 'collected_by_reader', fields: ['contacts', 'familyName', 'givenName'] }]);
    expect(read.json().withheld).toEqual(['birthDate', 'documents', 'health', 'narrative']);
    for (const secret of [`NARRATIVE-${tag}`, `HEALTH-${tag}`, `PP${tag}`, '2001-02-03']) expect(read.body).not.toContain(secret);

    // The event records the basis of every field read and the names of those withheld (schema version 3).
    const [recorded] = await accessEvents(caseId, 'ngo-it');
    expect(recorded).toMatchObject({
      v: 3,
      data: { fields: ['contacts', 'familyName', 'givenName'], legalBases: [{ basis: 'collected_by_reader', fields: ['contacts', 'familyName', 'givenName'] }], withheldFields: ['birthDate', 'documents', 'health', 'narrative'] },
    });
    expect(JSON.stringify(recorded)).not.toContain(tag);

    // The contact point coordinating the case reads what coordination needs; health only with consent.
    const coordinator = await ok(personalData('anitp', caseId));
    expect(coordinator.json().withheld).toEqual([]);
    expect(coordinator.json().legalBases).toEqual([
      { basis: 'collected_by_reader', fields: ['health', 'narrative'] },
      { basis: 'statutory_coordination', fields: ['birthDate', 'contacts', 'documents', 'familyName', 'givenName'] },
    ]);
  });

  it('ends consent-based reads from the first request after the withdrawal commits, for every organisation that relied on it', async () => {
    const { caseId } = await newCase({ person: { givenName: `Ana${tag}`, familyName: `Example${tag}` } });
    const own = await ask(caseId, 'anitp', ['narrative']);
    await ok(call('anitp', 'POST', `/v1/cases/${caseId}/information-requests/${own}/answer`, { person: { narrative: `NARRATIVE-${tag}` } }));
    await ok(call('anitp', 'POST', `/v1/cases/${caseId}/participants`, { organisationId: 'consulate-ro-it', purpose: 'travel_documents' }));
    await consent(caseId, 'ngo-it');
    await consent(caseId, 'consulate-ro-it');

    const shared = await ok(personalData('ngo', caseId));
    expect(shared.json().data.narrative).toBe(`NARRATIVE-${tag}`);
    expect(shared.json().legalBases).toEqual([
      { basis: 'collected_by_reader', fields: ['familyName', 'givenName'] },
      { basis: 'consent', fields: ['narrative'] },
    ]);
    expect((await ok(personalData('consulate', caseId, 'travel_documents'))).json().legalBases).toEqual([{ basis: 'consent', fields: ['familyName', 'givenName'] }]);

    await withdraw(caseId, 'ngo-it');
    await withdraw(caseId, 'consulate-ro-it');
    const after = await ok(personalData('ngo', caseId));
    expect(Object.keys(after.json().data).sort()).toEqual(['familyName', 'givenName']);
    expect(after.json().withheld).toEqual(['narrative']);
    expect(after.body).not.toContain(`NARRATIVE-${tag}`);
    const consulate = await personalData('consulate', caseId, 'travel_documents');
    expect(consulate.statusCode).toBe(403);
    expect(consulate.json()).toMatchObject({ code: 'consent-required', unmet: ['consent-for-sharing-missing'] });
    expect(consulate.body).not.toContain(tag);
    const bases = (await accessEvents(caseId, 'ngo-it')).map((e) => e.data.legalBases);
    expect(bases.at(-1)).toEqual([{ basis: 'collected_by_reader', fields: ['familyName', 'givenName'] }]);
  });
});

describe('routing: one contact point coordinates; the foreign victim’s own country’s joins only with consent', () => {
  it('addresses a foreign victim identified in Romania to ANITP alone: Moldova’s contact point is not added, sees nothing', async () => {
    const { caseId, body } = await newCase(foreignVictim());
    expect(body.participants.map((p: { organisationId: string }) => p.organisationId).sort()).toEqual(['anitp', 'ngo-it']);
    const notified = await caseNotified(caseId);
    expect(notified).toMatchObject({ v: 2, data: { addressedTo: 'anitp', nationalContactPointIds: ['anitp'], internationalProtectionSought: false, fearsAuthoritiesOf: [] } });
    expect((await call('ncpMd', 'GET', `/v1/cases/${caseId}`)).statusCode).toBe(404);
    const read = await personalData('ncpMd', caseId);
    expect(read.statusCode).toBe(404);
    expect(read.body).not.toContain(tag);
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from referrals.case_participants where case_id = ${caseId} and organisation_id = 'ncp-md'`.execute(stack.db);
    expect(rows[0]!.n).toBe('0');
  });

  it('adds Moldova’s contact point only with the victim’s consent to share with it (409 and nothing written before), and removes it on withdrawal', async () => {
    const { caseId } = await newCase(foreignVictim());
    const before = await eventCount();
    const refused = await call('anitp', 'POST', `/v1/cases/${caseId}/participants`, { organisationId: 'ncp-md', purpose: 'national_contact_point' });
    expect(refused.statusCode).toBe(409);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(refused.json()).toMatchObject({ code: 'contact-point-refused', unmet: ['consent-for-sharing-with-contact-point-missing'] });
    expect(await eventCount()).toBe(before);

    await consent(caseId, 'ncp-md');
    await ok(call('anitp', 'POST', `/v1/cases/${caseId}/participants`, { organisationId: 'ncp-md', purpose: 'national_contact_point' }));
    const read = await ok(personalData('ncpMd', caseId));
    expect(read.json().legalBases).toEqual([{ basis: 'consent', fields: ['familyName', 'givenName', 'narrative'] }]);
    // It does not coordinate: it cannot act for the case, sees the participant view, not the coordinator's timeline.
    expect((await call('ncpMd', 'POST', `/v1/cases/${caseId}/victim-status`, { status: 'actual', deciderBodyType: 'prosecutor', determinedOn: '2026-11-20' })).statusCode).toBe(403);
    await ok(personalData('anitp', caseId));
    expect((await ok(call('ncpMd', 'GET', `/v1/cases/${caseId}`))).json().view).toBe('participant');
    const timeline = (await ok(call('ncpMd', 'GET', `/v1/cases/${caseId}/timeline`))).json();
    const readsSeen = timeline.entries.filter((e: { type: string; organisationId?: string }) => e.type === 'PersonalDataAccessed' && e.organisationId !== 'ncp-md');
    expect(readsSeen).toEqual([]);
    expect(timeline.entries.every((e: object) => !('actor' in e))).toBe(true);

    // It takes no part in the case's returns or proceedings (they are the coordinating contact point's).
    await applied('repatriation', 'repatriation-case-facts', caseId);
    await applied('proceedings', 'proceedings-case-facts', caseId);
    const { rows: elsewhere } = await sql<{ n: string }>`
      select (select count(*) from repatriation.case_participants where case_id = ${caseId} and organisation_id = 'ncp-md')
           + (select count(*) from proceedings.case_parties where case_id = ${caseId} and organisation_id = 'ncp-md') as n`.execute(stack.db);
    expect(Number(elsewhere[0]!.n)).toBe(0);

    await withdraw(caseId, 'ncp-md');
    expect((await personalData('ncpMd', caseId)).statusCode).toBe(404);
    expect((await call('ncpMd', 'GET', `/v1/cases/${caseId}`)).statusCode).toBe(404);
  });

  it('never adds it while international protection is sought, or when the victim fears its authorities, consent or not', async () => {
    for (const [over, unmet] of [
      [{ internationalProtectionSought: true }, ['international-protection-sought']],
      [{ fearsAuthoritiesOf: ['MD'] }, ['victim-fears-authorities-of-country']],
    ] as const) {
      const { caseId } = await newCase(foreignVictim(over));
      expect((await caseNotified(caseId)).data).toMatchObject({ addressedTo: 'anitp', ...over });
      await consent(caseId, 'ncp-md');
      const before = await eventCount();
      const res = await call('anitp', 'POST', `/v1/cases/${caseId}/participants`, { organisationId: 'ncp-md', purpose: 'national_contact_point' });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'contact-point-refused', unmet });
      expect(await eventCount()).toBe(before);
      expect((await personalData('ncpMd', caseId)).statusCode).toBe(404);
    }
    // While protection is sought no further contact point joins at all.
    const { caseId } = await newCase(foreignVictim({ internationalProtectionSought: true }));
    await consent(caseId, 'ncp-ua');
    expect((await call('anitp', 'POST', `/v1/cases/${caseId}/participants`, { organisationId: 'ncp-ua', purpose: 'national_contact_point' })).json().unmet).toEqual(['international-protection-sought']);
  });

  it('routes a victim identified abroad to the contact point of the citizenship by default, never to one the victim fears', async () => {
    // A Moldovan identified in Italy: Moldova's contact point coordinates, ANITP is not added.
    const abroad = await newCase({ citizenship: 'MD' });
    expect((await caseNotified(abroad.caseId)).data).toMatchObject({ addressedTo: 'ncp-md', nationalContactPointIds: ['ncp-md'] });
    expect((await call('anitp', 'GET', `/v1/cases/${abroad.caseId}`)).statusCode).toBe(404);
    expect((await ok(personalData('ncpMd', abroad.caseId))).json().legalBases).toEqual([{ basis: 'statutory_coordination', fields: ['familyName', 'givenName'] }]);
    // Fearing Moldova's authorities (or seeking protection), the country of identification's (none: the home contact point) coordinates.
    for (const over of [{ fearsAuthoritiesOf: ['MD'] }, { internationalProtectionSought: true }]) {
      const feared = await newCase({ citizenship: 'MD', ...over });
      expect((await caseNotified(feared.caseId)).data).toMatchObject({ addressedTo: 'anitp', nationalContactPointIds: ['anitp'] });
      expect((await call('ncpMd', 'GET', `/v1/cases/${feared.caseId}`)).statusCode).toBe(404);
    }
  });

  it('refuses an addressedTo that may not coordinate with a 422 problem pointing at it, and writes nothing', async () => {
    const cases = [
      ['anitp-rc-bucharest', {}, 'invalid-addressee', ['addressee-not-a-central-contact-point']],
      ['ngo-it', {}, 'invalid-addressee', ['addressee-not-a-national-contact-point']],
      ['ncp-md', { citizenship: 'MD', fearsAuthoritiesOf: ['MD'] }, 'invalid-addressee', ['victim-fears-authorities-of-country']],
      ['ncp-md', { citizenship: 'MD', internationalProtectionSought: true }, 'invalid-addressee', ['international-protection-sought']],
      ['no-such-organisation', {}, 'unknown-organisation-reference', undefined],
    ] as const;
    for (const [addressedTo, over, code, unmet] of cases) {
      const before = await eventCount();
      const { rows: vaultBefore } = await sql<{ n: string }>`select count(*)::text as n from referrals.vault_fields`.execute(stack.db);
      const res = await call('ngo', 'POST', '/v1/cases', notification({ addressedTo, ...over, person: { givenName: `Refused${tag}` } }));
      expect(res.statusCode, res.body).toBe(422);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ code, errors: [expect.objectContaining({ pointer: '/addressedTo' })] });
      if (unmet) expect(res.json().unmet).toEqual(unmet);
      expect(res.body).not.toContain(tag);
      expect(await eventCount()).toBe(before);
      const { rows: vaultAfter } = await sql<{ n: string }>`select count(*)::text as n from referrals.vault_fields`.execute(stack.db);
      expect(vaultAfter[0]!.n).toBe(vaultBefore[0]!.n);
    }
    // A named contact point that may coordinate is taken, even against the default.
    const named = await newCase({ citizenship: 'MD', addressedTo: 'anitp' });
    expect((await caseNotified(named.caseId)).data).toMatchObject({ addressedTo: 'anitp', nationalContactPointIds: ['anitp'] });
    // No log line carries the refused person's name.
    expect(stack.logs.join('\n')).not.toContain(`Refused${tag}`);
  });
});

describe('CaseNotified version 1, recorded before routing', () => {
  it('still reads: the case, its coordination by the contact point it named, and the facts proceedings learns from it', async () => {
    const caseId = randomUUID();
    const v1 = {
      caseId,
      situation: 'identified_by_international_ngo',
      notifyingOrganisationId: 'ngo-it',
      notifyingOrganisationType: 'ngo',
      countryOfIdentification: 'IT',
      countryOfExploitation: 'IT',
      identificationDate: '2026-11-18',
      formsOfExploitation: ['forced_labour'],
      sex: 'female',
      ageAtIdentification: 30,
      birthYear: null,
      ageBand: '26-35',
      minor: false,
      citizenship: 'RO',
      traffickedAcrossBorders: true,
      recruiterRelation: 'friend_or_acquaintance',
      returnWanted: false,
      plannedReturnDate: null,
      nationalContactPointIds: ['anitp'],
      personalDataFields: [],
      notifiedAt: '2026-11-20T09:00:00.000Z',
      acknowledgementDueAt: '2026-11-22T09:00:00.000Z',
    };
    // Appended as the code before routing did: schema version 1, projected in the same transaction.
    const store = createEventStore({ schema: 'referrals' });
    await stack.db.transaction().execute(async (tx) => {
      const appended = await store.append(tx, `case-${caseId}`, [{ type: 'CaseNotified', data: v1, schemaVersion: 1 }], {
        expectedVersion: 'no_stream',
        metadata: { actor: 'user-of-ngo-it', organisation: 'ngo-it', correlationId: caseId, causationId: null, requestId: null },
        now: new Date('2026-11-20T09:00:00.000Z'),
      });
      await projectCaseEvents(tx, 'referrals', appended.events);
    });
    stack.relay.wake();
    expect((await caseNotified(caseId)).v).toBe(1);

    const view = await ok(call('anitp', 'GET', `/v1/cases/${caseId}`));
    expect(view.json()).toMatchObject({ caseId, view: 'national_contact_point' });
    await ok(call('anitp', 'POST', `/v1/cases/${caseId}/acknowledgement`, { keyContactId: 'officer-a', alternateContactId: 'officer-b', regionalCentreId: 'anitp-rc-bucharest' }));
    expect((await ok(personalData('anitp', caseId))).json()).toMatchObject({ status: 'absent' });
    // Proceedings parses it (upcast) and knows the case and its contact point.
    await until('proceedings to learn the version 1 case', async () => (await call('anitpCoordinator', 'GET', `/v1/proceedings/${caseId}`)).statusCode === 200);
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from proceedings.dead_letters where consumer = 'proceedings-case-facts'`.execute(stack.db);
    expect(rows[0]!.n).toBe('0');
    // Never rewritten.
    expect((await caseNotified(caseId)).data).not.toHaveProperty('addressedTo');
  });
});

// Last: it stops referrals' relay.
describe('proceedings serves personal data only while its facts are as current as referrals’', () => {
  it('refuses a criminal case reference to an organisation removed in referrals while the removal has not reached proceedings', async () => {
    const { caseId } = await newCase({ situation: 'identified_by_law_enforcement' }, 'police');
    await ok(call('anitp', 'POST', `/v1/cases/${caseId}/participants`, { organisationId: 'ngo-it', purpose: 'proceedings_support' }));
    await until('the case to reach proceedings', async () => (await call('ngoCoordinator', 'POST', `/v1/proceedings/${caseId}/participation`, { consentedOn: '2026-11-20' })).statusCode === 201);
    const reference = `DIICOT-${tag}`;
    const linked = await ok(call('police', 'POST', `/v1/proceedings/${caseId}/criminal-cases`, { country: 'RO', authorityType: 'prosecutor', offence: 'trafficking_in_persons', reference }), 201);
    const url = `/v1/proceedings/${caseId}/criminal-cases/${linked.json().created.criminalCaseId}/reference?purpose=case_management`;
    expect((await ok(call('ngoCoordinator', 'GET', url))).json().reference).toBe(reference);

    // Referrals records the removal; its relay is stopped, so proceedings cannot learn it yet.
    await stack.relay.stop();
    await ok(call('anitp', 'POST', `/v1/cases/${caseId}/participants/removal`, { organisationId: 'ngo-it', purpose: 'proceedings_support' }));
    const started = Date.now();
    const refused = await call('ngoCoordinator', 'GET', url);
    expect(refused.statusCode, refused.body).toBe(503);
    expect(refused.json()).toMatchObject({ code: 'case-facts-behind' });
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).not.toContain(reference);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from proceedings.events where event_type = 'CriminalCaseReferenceRead' and data->>'caseId' = ${caseId}`.execute(stack.db);
    expect(rows[0]!.n).toBe('1');
  });
});
