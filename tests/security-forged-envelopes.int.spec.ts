import { randomUUID } from 'node:crypto';
import { eventSubject } from '@trm/bus';
import type { EventEnvelope } from '@trm/contracts';
import { computeEventHash } from '@trm/event-store';
import { proceedingsModule } from '@trm/proceedings';
import { referralsModule } from '@trm/referrals';
import { repatriationModule } from '@trm/repatriation';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, notification, startStack } from './support/stack.js';

/**
 * An attacker who can publish on NATS (a leaked credential, a compromised host on the bus) sends
 * envelopes that look right: the right subject, a hash that matches their content, the next
 * version of a real case stream. Consumers read events from the source's events table, so none
 * of these changes anything: each is dead-lettered, visibly, and the real next event still lands.
 */
let stack: Stack;
let t: Record<'ngo' | 'anitp' | 'police', string>;

beforeAll(async () => {
  stack = await startStack({ modules: [referralsModule, repatriationModule, proceedingsModule] });
  t = {
    ngo: await stack.token('ngo-it', ['notifier', 'case_officer']),
    anitp: await stack.token('anitp', ['case_officer', 'proceedings_coordinator']),
    police: await stack.token('police-it', ['case_officer']),
  };
});
afterAll(async () => stack?.close());

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A forged envelope whose hash matches its content, as someone who knows the format would make it. */
function forge(type: string, streamId: string, streamVersion: number, data: Record<string, unknown>): EventEnvelope {
  const e: EventEnvelope = {
    service: 'referrals',
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    streamId,
    streamVersion,
    globalPosition: '999999',
    transactionId: '999999',
    data,
    metadata: { actor: 'user-of-anitp', organisation: 'anitp', correlationId: randomUUID(), causationId: null, requestId: null },
    recordedAt: new Date().toISOString(),
    prevHash: streamVersion > 1 ? 'a'.repeat(64) : null,
    hash: '',
  };
  e.hash = computeEventHash(e.prevHash, e);
  return e;
}

const publish = (e: EventEnvelope) =>
  stack.bus.publish({ subject: eventSubject(stack.subjectsPrefix, e.service, e.type), msgId: e.eventId, data: new TextEncoder().encode(JSON.stringify(e)) });

async function deadLetters(schema: string, eventId: string): Promise<string[]> {
  const { rows } = await sql<{ error: string }>`select error from ${sql.table(`${schema}.dead_letters`)} where event_id = ${eventId}::uuid`.execute(stack.db);
  return rows.map((r) => r.error);
}

async function parties(caseId: string): Promise<string[]> {
  const { rows } = await sql<{ organisation_id: string }>`
    select organisation_id from proceedings.case_parties where case_id = ${caseId} order by organisation_id`.execute(stack.db);
  return rows.map((r) => r.organisation_id);
}

describe('forged envelopes on NATS', () => {
  it('a ParticipantAdded, a PersonalDataErased and a rewritten past event change nothing, are dead-lettered, and the real next event still lands', async () => {
    const created = await stack.app.inject({ method: 'POST', url: '/v1/cases', headers: auth(t.ngo), payload: notification() });
    expect(created.statusCode).toBe(201);
    const caseId = created.json().caseId as string;
    const streamId = `case-${caseId}`;
    const before = await until('proceedings to learn the case', async () => {
      const p = await parties(caseId);
      return p.length > 0 && p;
    });
    const { rows: head } = await sql<{ v: number }>`select max(stream_version)::int as v from referrals.events where stream_id = ${streamId}`.execute(stack.db);
    const next = head[0]!.v + 1;

    // The next version of the real stream: police-it would get the criminal case reference.
    const added = forge('ParticipantAdded', streamId, next, { caseId, organisationId: 'police-it', organisationType: 'law_enforcement', purpose: 'law_enforcement' });
    // Erasure would wipe the proceedings vault and the case's data.
    const erased = forge('PersonalDataErased', streamId, next + 1, { caseId, reason: 'retention_expired', erasedBy: 'anitp', erasedAt: new Date().toISOString() });
    // Version 1 again, with other content (a "correction" of the notification).
    const rewritten = forge('CaseNotified', streamId, 1, { caseId, notifyingOrganisationId: 'police-it' });
    for (const e of [added, erased, rewritten]) await publish(e);

    for (const schema of ['proceedings', 'repatriation']) {
      await until(`${schema} to dead-letter the forgeries`, async () => (await deadLetters(schema, added.eventId)).length > 0 && (await deadLetters(schema, erased.eventId)).length > 0);
      expect(await deadLetters(schema, added.eventId)).toEqual(['not found at its source']);
      expect(await deadLetters(schema, erased.eventId)).toEqual(['not found at its source']);
    }
    // Version 1 exists at the source: the forgery is a duplicate there (already applied), dropped.
    expect(await deadLetters('proceedings', rewritten.eventId)).toEqual([]);
    expect(await parties(caseId)).toEqual(before);
    const { rows: facts } = await sql<{ n: number }>`
      select count(*)::int as n from repatriation.case_participants where case_id = ${caseId} and organisation_id = 'police-it'`.execute(stack.db);
    expect(facts[0]!.n).toBe(0);
    expect((await stack.app.inject({ url: `/v1/proceedings/${caseId}`, headers: auth(t.police) })).statusCode).toBe(404);

    // The real ParticipantAdded takes the same version the forgery claimed: it is applied.
    const real = await stack.app.inject({
      method: 'POST',
      url: `/v1/cases/${caseId}/participants`,
      headers: auth(t.anitp),
      payload: { organisationId: 'police-it', purpose: 'law_enforcement' },
    });
    expect(real.statusCode).toBe(200);
    await until('the real participant in proceedings', async () => (await parties(caseId)).includes('police-it'));
  });

  it('an envelope naming another service than its subject, or whose hash does not match, is refused before anything is read', async () => {
    const e = forge('ParticipantAdded', `case-${randomUUID()}`, 1, { caseId: randomUUID(), organisationId: 'police-it', organisationType: 'law_enforcement', purpose: 'law_enforcement' });
    const wrongService = { ...e, eventId: randomUUID(), service: 'proceedings' as const };
    wrongService.hash = computeEventHash(wrongService.prevHash, wrongService);
    await stack.bus.publish({
      subject: eventSubject(stack.subjectsPrefix, 'referrals', e.type),
      msgId: wrongService.eventId,
      data: new TextEncoder().encode(JSON.stringify(wrongService)),
    });
    const tampered = { ...e, eventId: randomUUID() };
    await publish(tampered);
    await until('both refused', async () => (await deadLetters('proceedings', wrongService.eventId)).length > 0 && (await deadLetters('proceedings', tampered.eventId)).length > 0);
    expect(await deadLetters('proceedings', wrongService.eventId)).toEqual(['subject does not match the service of the envelope']);
    expect(await deadLetters('proceedings', tampered.eventId)).toEqual(['hash does not match the content']);
  });
});
