import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, notification, startReferralsStack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startReferralsStack();
});
afterAll(async () => stack?.close());

/** Values no code, schema or fixture could contain by chance. */
function uniquePerson() {
  const tag = randomBytes(6).toString('hex');
  return {
    givenName: `Given${tag}`,
    familyName: `Family${tag}`,
    birthDate: '2001-07-23',
    birthPlace: `Place${tag}`,
    contacts: { phone: `+40 7${tag.slice(0, 8).replace(/[a-f]/g, '1')}`, email: `p${tag}@example.org`, address: `Strada ${tag} 12` },
    documents: [{ kind: 'passport', number: `PP${tag}`, issuingCountry: 'RO' }],
    narrative: `Narrative ${tag} of recruitment`,
    health: `Health ${tag}`,
  };
}

function needles(person: ReturnType<typeof uniquePerson>): string[] {
  return [
    person.givenName,
    person.familyName,
    person.birthPlace,
    person.contacts.phone,
    person.contacts.email,
    person.contacts.address,
    person.documents[0]!.number,
    person.narrative,
    person.health,
    person.birthDate,
  ];
}

/** Every message on this run's JetStream stream, as text. */
async function natsMessages(expected: number): Promise<string[]> {
  const seen: string[] = [];
  const decoder = new TextDecoder();
  const sub = await stack.bus.consume(
    { durable: `scan-${randomBytes(3).toString('hex')}`, filterSubject: `${stack.subjectsPrefix}.>`, maxDeliver: 1 },
    async (d) => {
      seen.push(`${d.subject} ${decoder.decode(d.data)}`);
      d.ack();
    },
  );
  const deadline = Date.now() + 20_000;
  while (seen.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await sub.stop();
  return seen;
}

describe('personal data submitted in a notification', () => {
  it('appears in no event row, no NATS message, no log line and no error body', async () => {
    const ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
    const anitp = await stack.token('anitp', ['case_officer']);
    const person = uniquePerson();
    const created = await stack.app.inject({ method: 'POST', url: '/v1/cases', headers: { authorization: `Bearer ${ngo}` }, payload: notification({ person }) });
    expect(created.statusCode).toBe(201);
    const { caseId } = created.json();

    // Refusals that carry the same personal data must not echo it back.
    const errorBodies: string[] = [];
    for (const payload of [
      notification({ person: { ...person, unknownField: person.givenName } }),
      notification({ person: { ...person, birthDate: `${person.givenName}` } }),
      notification({ person, identificationDate: '2099-01-01' }),
      { ...notification({ person }), situation: person.familyName },
    ]) {
      const res = await stack.app.inject({ method: 'POST', url: '/v1/cases', headers: { authorization: `Bearer ${ngo}` }, payload });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      errorBodies.push(res.body);
    }

    // Personal data given later, in answer to a request for information, and a refused answer.
    const asked = await stack.app.inject({
      method: 'POST',
      url: `/v1/cases/${caseId}/information-requests`,
      headers: { authorization: `Bearer ${anitp}` },
      payload: { requestedFrom: 'ngo-it', items: ['health', 'otherNames'] },
    });
    expect(asked.statusCode).toBe(201);
    const answerUrl = `/v1/cases/${caseId}/information-requests/${asked.json().id}/answer`;
    const badAnswer = await stack.app.inject({ method: 'POST', url: answerUrl, headers: { authorization: `Bearer ${ngo}` }, payload: { person: { otherNames: [person.givenName], nickname: person.familyName } } });
    expect(badAnswer.statusCode).toBe(400);
    errorBodies.push(badAnswer.body);
    const answered = await stack.app.inject({ method: 'POST', url: answerUrl, headers: { authorization: `Bearer ${ngo}` }, payload: { person: { otherNames: [person.birthPlace], health: person.health } } });
    expect(answered.statusCode).toBe(200);

    // An authorised read returns the data (so the test would notice if it were never stored)…
    const read = await stack.app.inject({ url: `/v1/cases/${caseId}/personal-data?purpose=case_management`, headers: { authorization: `Bearer ${anitp}` } });
    expect(read.statusCode).toBe(200);
    expect(read.json().data.givenName).toBe(person.givenName);
    // …and the read is itself recorded, without the data.
    const { rows: access } = await sql<{ data: { organisationId: string; purpose: string } }>`
      select data from referrals.events where event_type = 'PersonalDataAccessed' and data->>'caseId' = ${caseId}`.execute(stack.db);
    expect(access.map((r) => r.data)).toEqual([expect.objectContaining({ organisationId: 'anitp', purpose: 'case_management' })]);

    const { rows } = await sql<{ row: string }>`select e::text as row from referrals.events e`.execute(stack.db);
    const { rows: vault } = await sql<{ row: string }>`select f::text as row from referrals.vault_fields f`.execute(stack.db);
    expect(vault.length).toBeGreaterThan(0);
    const messages = await natsMessages(rows.length);
    expect(messages.length).toBe(rows.length);

    const places = {
      events: rows.map((r) => r.row).join('\n'),
      vault: vault.map((r) => r.row).join('\n'),
      nats: messages.join('\n'),
      logs: stack.logs.join('\n'),
      errors: errorBodies.join('\n'),
    };
    for (const needle of needles(person)) {
      for (const [where, text] of Object.entries(places)) {
        expect(text.includes(needle), `${needle} found in ${where}`).toBe(false);
      }
    }
    expect(stack.logs.length).toBeGreaterThan(0);
  });
});
