import { createPublicKey, verify } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_PAYLOAD_FIELDS } from '@trm/contracts';
import { referralsModule } from '@trm/referrals';
import { repatriationModule } from '@trm/repatriation';
import { notification, type Stack, startStack } from './support/stack.js';

/**
 * Signed webhooks (issue 19) on real PostgreSQL and JetStream, referrals and repatriation in one
 * host: partners' receivers on 127.0.0.1 (node:http) get thin notifications signed per Standard
 * Webhooks (v1a, Ed25519), verified here as a partner would, with node:crypto and the served JWKS.
 */

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
}

let stack: Stack;
let server: http.Server;
let base: string;
const received: Received[] = [];
/** Status codes a path answers with, in turn (then 204). */
const script = new Map<string, number[]>();
/** Paths that answer 500 until removed. */
const failing = new Set<string>();
const t: Record<string, string> = {};
let caseId: string;
let referralId: string;
let removalAt: number;
const PERSON = { givenName: 'Zenobia', familyName: 'Quintavalle-Ardeleanu' };

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const post = (token: string, url: string, payload: unknown) => stack.app.inject({ method: 'POST', url, headers: auth(token), payload: payload as object });
const get = (token: string, url: string) => stack.app.inject({ method: 'GET', url, headers: auth(token) });
async function ok(token: string, url: string, payload: unknown): Promise<Record<string, unknown>> {
  const res = await post(token, url, payload);
  expect(res.statusCode, `POST ${url}: ${res.body}`).toBeLessThan(300);
  return res.json();
}
async function eventually<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const at = (path: string) => received.filter((r) => r.path === path);
const typesAt = (path: string) => at(path).map((r) => r.json.type);

/** Every event has been through its service's webhook consumer, and no delivery is left pending. */
async function quiescent(): Promise<void> {
  let last = -1;
  let stable = 0;
  await eventually('webhooks to settle', async () => {
    let behind = 0;
    for (const schema of ['referrals', 'repatriation']) {
      const { rows } = await sql<{ n: string }>`
        select count(*)::text as n from (select stream_id, max(stream_version) as v from ${sql.table(`${schema}.events`)} group by stream_id) e
        left join ${sql.table(`${schema}.consumer_streams`)} c on c.consumer = ${`${schema}-webhooks`} and c.stream_id = e.stream_id
        where coalesce(c.version, 0) < e.v`.execute(stack.db);
      const { rows: pending } = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(`${schema}.webhook_deliveries`)} where status = 'pending'`.execute(stack.db);
      behind += Number(rows[0]!.n) + Number(pending[0]!.n);
    }
    stable = behind === 0 && received.length === last ? stable + 1 : 0;
    last = received.length;
    return stable >= 3;
  }, 60_000);
}

async function subscribe(token: string, path: string, events?: string[]): Promise<string> {
  const res = await post(token, '/v1/webhooks', { url: `${base}${path}`, ...(events ? { events } : {}) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '';
      received.push({ path, headers: req.headers, body, json: JSON.parse(body) as Record<string, unknown> });
      const code = failing.has(path) ? 500 : (script.get(path)?.shift() ?? 204);
      res.writeHead(code).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  stack = await startStack({
    modules: [referralsModule, repatriationModule],
    env: { TRM_WEBHOOK_RETRY_BASE_MS: '200', TRM_WEBHOOK_POLL_MS: '100', TRM_WEBHOOK_TIMEOUT_MS: '2000', TRM_WEBHOOK_MAX_ATTEMPTS: '3', TRM_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' },
  });
  t.ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  t.anitp = await stack.token('anitp', ['case_officer']);
  for (const org of ['ngo-it', 'anitp', 'provider-shelter', 'iom-it', 'consulate-ro-it', 'stranger-ngo']) t[`${org}/admin`] = await stack.token(org, ['admin']);
  const registered = await post(t['anitp/admin']!, '/v1/organisations', { id: 'stranger-ngo', type: 'ngo', country: 'IT', name: 'An NGO taking part in nothing' });
  expect(registered.statusCode, registered.body).toBe(201);

  // Subscriptions first, so every event of the case finds them.
  await subscribe(t['ngo-it/admin']!, '/ngo');
  await subscribe(t['provider-shelter/admin']!, '/shelter');
  await subscribe(t['iom-it/admin']!, '/iom');
  await subscribe(t['consulate-ro-it/admin']!, '/consulate');
  await subscribe(t['stranger-ngo/admin']!, '/stranger');
  await subscribe(t['anitp/admin']!, '/flaky', ['CaseNotified']);
  await subscribe(t['anitp/admin']!, '/dead', ['ConsentRecorded']);
  script.set('/flaky', [500, 500]);
  failing.add('/dead');

  caseId = String((await ok(t.ngo!, '/v1/cases', notification({ person: PERSON }))).caseId);
  const c = `/v1/cases/${caseId}`;
  await ok(t.anitp!, `${c}/acknowledgement`, { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', regionalCentreId: 'anitp-rc-bucharest' });
  await ok(t.ngo!, `${c}/consents`, { purpose: 'assistance', givenOn: '2026-11-19' });
  await ok(t.ngo!, `${c}/consents`, { purpose: 'sharing', sharingWith: 'provider-shelter', givenOn: '2026-11-19' });
  // IOM takes part for the return, then leaves the case.
  await ok(t.anitp!, `${c}/participants`, { organisationId: 'iom-it', purpose: 'return' });
  await quiescent();
  await ok(t.anitp!, `${c}/participants/removal`, { organisationId: 'iom-it', purpose: 'return' });
  removalAt = received.length;
  // After the removal: the consulate joins (IOM, a return party, would see that), the shelter gets a referral.
  await ok(t.anitp!, `${c}/participants`, { organisationId: 'consulate-ro-it', purpose: 'travel_documents' });
  referralId = String((await ok(t.anitp!, `${c}/service-referrals`, { service: 'shelter', providerOrganisationId: 'provider-shelter' })).id);
  await quiescent();
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await new Promise((r) => server?.close(r));
});

/** A partner's verification (Standard Webhooks, asymmetric v1a), with node:crypto only. */
async function verifiedByPartner(r: Received): Promise<boolean> {
  const jwks = (await stack.app.inject({ method: 'GET', url: '/v1/webhooks/keys' })).json() as { keys: Array<Record<string, string>> };
  const id = String(r.headers['webhook-id']);
  const timestamp = Number(r.headers['webhook-timestamp']);
  if (Math.abs(Date.now() / 1000 - timestamp) > 5 * 60) return false; // replay window
  const signed = Buffer.from(`${id}.${timestamp}.${r.body}`, 'utf8');
  const signatures = String(r.headers['webhook-signature'])
    .split(' ')
    .filter((s) => s.startsWith('v1a,'))
    .map((s) => Buffer.from(s.slice(4), 'base64'));
  return jwks.keys.some((jwk) => {
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    return signatures.some((sig) => verify(null, signed, key, sig));
  });
}

describe('notifications', () => {
  it('reach the notifier when ANITP acknowledges its case, signed so that the served public key verifies them', async () => {
    const ack = at('/ngo').find((r) => r.json.type === 'NotificationAcknowledged');
    expect(ack, JSON.stringify(typesAt('/ngo'))).toBeDefined();
    expect(ack!.json).toMatchObject({ type: 'NotificationAcknowledged', service: 'referrals', caseId });
    expect(ack!.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(ack!.headers['webhook-signature']).toMatch(/^v1a,[A-Za-z0-9+/]+=*$/);
    expect(ack!.headers['content-type']).toBe('application/json');
    expect(await verifiedByPartner(ack!)).toBe(true);
    // A body changed in transit, or signed for another id, does not verify.
    expect(await verifiedByPartner({ ...ack!, body: ack!.body.replace(caseId, caseId.replace(/.$/, '0')) })).toBe(false);
    expect(await verifiedByPartner({ ...ack!, headers: { ...ack!.headers, 'webhook-id': 'msg_other' } })).toBe(false);
  });

  it('reach the shelter when a referral is made to it', async () => {
    const made = at('/shelter').find((r) => r.json.type === 'ServiceReferralMade');
    expect(made, JSON.stringify(typesAt('/shelter'))).toBeDefined();
    expect(made!.json).toMatchObject({ service: 'referrals', caseId });
    expect(await verifiedByPartner(made!)).toBe(true);
    // Then the shelter reads what happened through the API, where need-to-know applies.
    const read = await get(await stack.token('provider-shelter', ['service_provider']), `/v1/cases/${caseId}`);
    expect(read.statusCode).toBe(200);
    expect(JSON.stringify(read.json())).toContain(referralId);
  });

  it('carry no personal data and no event data: only the fields of WEBHOOK_PAYLOAD_FIELDS', () => {
    expect(received.length).toBeGreaterThan(3);
    for (const r of received) {
      for (const k of Object.keys(r.json)) expect(WEBHOOK_PAYLOAD_FIELDS as readonly string[]).toContain(k);
      expect(r.body).not.toContain(PERSON.givenName);
      expect(r.body).not.toContain(PERSON.familyName);
      expect(r.body).not.toContain('officer-ionescu'); // the acknowledgement's data
      expect(r.body).not.toContain('sharingWith');
      expect(r.body).not.toContain(referralId); // the referral's data
    }
  });

  it('never tell an organisation of its own acts', () => {
    expect(typesAt('/ngo')).not.toContain('CaseNotified');
    expect(typesAt('/ngo')).not.toContain('ConsentRecorded');
    expect(received.filter((r) => r.path === '/flaky' || r.path === '/dead').map((r) => r.json.type)).not.toContain('NotificationAcknowledged');
  });

  it('never reach an organisation that does not take part, nor a removed participant after its removal', () => {
    expect(at('/stranger')).toEqual([]);
    // IOM heard of the events while it took part (its own addition), nothing after its removal:
    // the consulate's joining, which the notifier, a return party too, hears of.
    const iomTypes = typesAt('/iom');
    expect(iomTypes).toContain('ParticipantAdded');
    expect(received.slice(removalAt).filter((r) => r.path === '/iom')).toEqual([]);
    const consulateJoined = at('/ngo').filter((r) => r.json.type === 'ParticipantAdded').length;
    expect(consulateJoined).toBeGreaterThanOrEqual(1);
  });

  it('never reach a participant whose purpose does not see the entry on the timeline', async () => {
    const consulate = typesAt('/consulate');
    expect(consulate).not.toContain('NotificationAcknowledged');
    expect(consulate).not.toContain('ServiceReferralMade');
    expect(consulate).not.toContain('ConsentRecorded');
    // What it was told is exactly what its timeline shows it.
    const timeline = await get(await stack.token('consulate-ro-it', ['consular_officer']), `/v1/cases/${caseId}/timeline?limit=100`);
    const shown = new Set((timeline.json().entries as Array<{ type: string }>).map((e) => e.type));
    for (const type of consulate) expect(shown.has(String(type))).toBe(true);
  });
});

describe('retries', () => {
  it('a receiver answering 500 twice gets the same webhook-id again, then succeeds; the attempts are counted', async () => {
    const flaky = at('/flaky');
    expect(flaky.map((r) => r.json.type)).toEqual(['CaseNotified', 'CaseNotified', 'CaseNotified']);
    expect(new Set(flaky.map((r) => r.headers['webhook-id'])).size).toBe(1);
    for (const r of flaky) expect(await verifiedByPartner(r)).toBe(true);
    const subs = (await get(t['anitp/admin']!, '/v1/webhooks')).json().items as Array<{ id: string; url: string }>;
    const flakySub = subs.find((s) => s.url.endsWith('/flaky'))!;
    const deliveries = (await get(t['anitp/admin']!, `/v1/webhooks/${flakySub.id}/deliveries`)).json().items;
    expect(deliveries).toEqual([expect.objectContaining({ service: 'referrals', type: 'CaseNotified', caseId, status: 'delivered', attempts: 3, lastStatusCode: 204, nextAttemptAt: null })]);
  });

  it('gives up after the policy\'s attempts (dead, in the deliveries and the metrics), and a redelivery sends it again', async () => {
    const subs = (await get(t['anitp/admin']!, '/v1/webhooks')).json().items as Array<{ id: string; url: string }>;
    const deadSub = subs.find((s) => s.url.endsWith('/dead'))!;
    const list = async () => (await get(t['anitp/admin']!, `/v1/webhooks/${deadSub.id}/deliveries`)).json().items as Array<Record<string, unknown>>;
    const dead = await eventually('two dead deliveries', async () => {
      const items = await list();
      return items.length === 2 && items.every((d) => d.status === 'dead') ? items : undefined;
    });
    expect(dead.map((d) => d.attempts)).toEqual([3, 3]);
    expect(at('/dead')).toHaveLength(6);
    const metrics = await stack.app.inject({ method: 'GET', url: '/metrics', headers: auth(await stack.token('anitp', ['operator'])) });
    expect(metrics.body).toMatch(/trm_webhook_attempts_total\{service="referrals",outcome="dead"\} 2/);

    failing.delete('/dead');
    const again = await post(t['anitp/admin']!, `/v1/webhooks/${deadSub.id}/deliveries/${dead[0]!.id}/redelivery`, {});
    expect(again.statusCode, again.body).toBe(202);
    expect(again.json()).toMatchObject({ id: dead[0]!.id, status: 'pending' });
    await eventually('the redelivery', async () => (await list()).find((d) => d.id === dead[0]!.id && d.status === 'delivered'));
    const sent = at('/dead');
    expect(sent).toHaveLength(7);
    expect(sent[6]!.headers['webhook-id']).toBe(sent.find((r) => r.json.id === sent[6]!.json.id)!.headers['webhook-id']);
    expect((await list()).find((d) => d.id === dead[0]!.id)).toMatchObject({ attempts: 4, lastStatusCode: 204 });
  });
});

describe('subscriptions', () => {
  const count = async () => Number((await sql<{ n: string }>`select count(*)::text as n from registry.webhook_subscriptions`.execute(stack.db)).rows[0]!.n);

  it('refuses bad input with a problem, storing nothing', async () => {
    const before = await count();
    const admin = t['ngo-it/admin']!;
    const cases: Array<[unknown, number, string?]> = [
      [{ url: 'ftp://partner.example.org/hook' }, 422, 'webhook-url-refused'],
      [{ url: 'https://user:secret@partner.example.org/hook' }, 422, 'webhook-url-refused'],
      [{ url: 'not a url' }, 422, 'webhook-url-refused'],
      // SSRF: private, loopback, link-local and mapped addresses (127.0.0.1 alone is allowed here, TRM_WEBHOOK_ALLOWED_HOSTS).
      [{ url: 'http://127.0.0.2:8080/hook' }, 422, 'webhook-url-refused'],
      [{ url: 'https://10.1.2.3/hook' }, 422, 'webhook-url-refused'],
      [{ url: 'https://169.254.169.254/latest/meta-data' }, 422, 'webhook-url-refused'],
      [{ url: 'https://[::ffff:127.0.0.1]/hook' }, 422, 'webhook-url-refused'],
      [{ url: 'https://[fd00::1]/hook' }, 422, 'webhook-url-refused'],
      [{ url: 'http://localhost:8080/hook' }, 422, 'webhook-url-refused'],
      [{ url: 'https://partner.example.org/hook', events: ['NoSuchEvent'] }, 400],
      [{ url: 'https://partner.example.org/hook', events: [] }, 400],
      [{ url: 'https://partner.example.org/hook', secret: 'hunter2' }, 400],
      [{}, 400],
    ];
    for (const [payload, status, code] of cases) {
      const res = await post(admin, '/v1/webhooks', payload);
      expect(res.statusCode, `${JSON.stringify(payload)}: ${res.body}`).toBe(status);
      expect(res.headers['content-type']).toContain('application/problem+json');
      if (code) expect(res.json().code).toBe(code);
      expect(res.body).not.toContain('hunter2');
    }
    expect(await count()).toBe(before);
  });

  it('are managed only by an admin of their own organisation', async () => {
    const anitpSubs = (await get(t['anitp/admin']!, '/v1/webhooks')).json().items as Array<{ id: string; organisationId: string }>;
    expect(anitpSubs.length).toBe(2);
    expect(anitpSubs.every((s) => s.organisationId === 'anitp')).toBe(true);
    const ngoSubs = (await get(t['ngo-it/admin']!, '/v1/webhooks')).json().items as Array<{ id: string }>;
    expect(ngoSubs.map((s) => s.id)).not.toContain(anitpSubs[0]!.id);

    const theirs = anitpSubs[0]!.id;
    const ngoAdmin = t['ngo-it/admin']!;
    expect((await get(ngoAdmin, `/v1/webhooks/${theirs}/deliveries`)).statusCode).toBe(404);
    expect((await stack.app.inject({ method: 'DELETE', url: `/v1/webhooks/${theirs}`, headers: auth(ngoAdmin) })).statusCode).toBe(404);
    const delivery = (await get(t['anitp/admin']!, `/v1/webhooks/${theirs}/deliveries`)).json().items[0] as { id: string };
    expect((await post(ngoAdmin, `/v1/webhooks/${theirs}/deliveries/${delivery.id}/redelivery`, {})).statusCode).toBe(404);
    // Not an admin: 403, whatever the organisation.
    expect((await get(t.ngo!, '/v1/webhooks')).statusCode).toBe(403);
    expect((await post(t.anitp!, '/v1/webhooks', { url: `${base}/x` })).statusCode).toBe(403);
    expect((await get(t['anitp/admin']!, '/v1/webhooks')).json().items).toHaveLength(2);

    // Its own admin deletes it; it is gone from the list.
    const gone = await stack.app.inject({ method: 'DELETE', url: `/v1/webhooks/${ngoSubs[0]!.id}`, headers: auth(ngoAdmin) });
    expect(gone.statusCode).toBe(204);
    expect((await get(ngoAdmin, '/v1/webhooks')).json().items).toEqual([]);
  });

  it('serves the public key without a token', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/v1/webhooks/keys' });
    expect(res.statusCode).toBe(200);
    const { keys } = res.json() as { keys: Array<Record<string, string>> };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(keys[0]).not.toHaveProperty('d');
  });
});

describe('repatriation events', () => {
  it('reach the parties whose purposes see the entry on the return timeline, with the return to read', async () => {
    await subscribe(t['ngo-it/admin']!, '/ngo'); // deleted by the test above
    await ok(t.ngo!, `/v1/cases/${caseId}/consents`, { purpose: 'return', givenOn: '2026-11-19' });
    const requested = await eventually('repatriation to learn the case', async () => {
      const res = await post(t.ngo!, '/v1/returns', { caseId, plannedDepartureDate: '2027-01-20', needs: ['shelter'], escortRequired: false, travelDocumentNeeded: true });
      return res.statusCode === 201 ? (res.json() as { returnId: string }) : undefined;
    });
    const { returnId } = requested;
    await ok(t.anitp!, `/v1/returns/${returnId}/acknowledgement`, { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa' });
    await quiescent();
    const ofReturns = (path: string) => at(path).filter((r) => r.json.service === 'repatriation');

    const ngo = ofReturns('/ngo');
    const acknowledged = ngo.find((r) => r.json.type === 'ReturnRequestAcknowledged');
    expect(acknowledged?.json, JSON.stringify(ngo.map((r) => r.json))).toMatchObject({ service: 'repatriation', caseId, returnId });
    expect(await verifiedByPartner(acknowledged!)).toBe(true);
    expect(ngo.map((r) => r.json.type)).not.toContain('ReturnRequested'); // its own act

    const consulate = ofReturns('/consulate').map((r) => String(r.json.type));
    expect(consulate).toContain('ReturnRequested');
    expect(consulate).not.toContain('ReturnRequestAcknowledged');
    const asConsulate = await get(await stack.token('consulate-ro-it', ['consular_officer']), `/v1/returns/${returnId}`);
    expect(asConsulate.statusCode).toBe(200);
    const shown = new Set((asConsulate.json().timeline as Array<{ type: string }>).map((e) => e.type));
    for (const type of consulate) expect(shown.has(type), type).toBe(true);

    expect(ofReturns('/iom')).toEqual([]);
    expect(ofReturns('/stranger')).toEqual([]);
    for (const r of [...ngo, ...ofReturns('/consulate')]) expect(Object.keys(r.json).sort()).toEqual(['caseId', 'id', 'occurredAt', 'returnId', 'service', 'type']);
  });
});
