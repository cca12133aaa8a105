import { createPublicKey, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateDevKey, signToken, type OrgType, type Role } from '@trm/platform';
import { referralsModule } from '@trm/referrals';
import { repatriationModule } from '@trm/repatriation';
import { createEmbeddedHost } from '@trm/runtime';
import { notification } from './support/stack.js';

/**
 * What `make run` serves (PGlite, the in-process bus, the development webhook key in the data
 * folder), started with TRM_WEBHOOK_ALLOWED_HOSTS=127.0.0.1: ANITP subscribed to CaseNotified
 * receives a new case's notification within 5 s, and its signature verifies (issue 19, done when).
 */
let host: Awaited<ReturnType<typeof createEmbeddedHost>>;
let dataDir: string;
let server: http.Server;
let base: string;
const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
const tokens: Record<string, string> = {};

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'trm-webhooks-embedded-'));
  host = await createEmbeddedHost([referralsModule, repatriationModule], { LOG_LEVEL: 'silent', TRM_DATA_DIR: dataDir, TRM_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' }, { inMemory: true });
  await host.app.ready();
  const key = await loadOrCreateDevKey(host.config.dataDir);
  const sign = (org: string, orgType: OrgType, roles: Role[]) => signToken(key, { org, orgType, roles, issuer: host.config.JWT_ISSUER, audience: host.config.JWT_AUDIENCE });
  tokens.ngo = await sign('ngo-it', 'ngo', ['notifier']);
  tokens.anitpAdmin = await sign('anitp', 'national_contact_point', ['admin']);
});
afterAll(async () => {
  await host?.close();
  await new Promise((r) => server?.close(r));
  await rm(dataDir, { recursive: true, force: true });
});

describe('webhooks in embedded mode', () => {
  it('deliver a new case to ANITP within 5 s, signed with the key served at /v1/webhooks/keys', async () => {
    const sub = await host.app.inject({ method: 'POST', url: '/v1/webhooks', headers: { authorization: `Bearer ${tokens.anitpAdmin}` }, payload: { url: `${base}/anitp`, events: ['CaseNotified'] } });
    expect(sub.statusCode, sub.body).toBe(201);
    const created = await host.app.inject({ method: 'POST', url: '/v1/cases', headers: { authorization: `Bearer ${tokens.ngo}` }, payload: notification() });
    expect(created.statusCode, created.body).toBe(201);
    const start = Date.now();
    while (received.length === 0 && Date.now() - start < 5_000) await new Promise((r) => setTimeout(r, 50));
    expect(received, 'a delivery within 5 s').toHaveLength(1);
    const [got] = received;
    expect(JSON.parse(got!.body)).toMatchObject({ type: 'CaseNotified', service: 'referrals', caseId: created.json().caseId });

    const { keys } = (await host.app.inject({ method: 'GET', url: '/v1/webhooks/keys' })).json() as { keys: object[] };
    const signed = Buffer.from(`${got!.headers['webhook-id']}.${got!.headers['webhook-timestamp']}.${got!.body}`);
    const signature = Buffer.from(String(got!.headers['webhook-signature']).replace(/^v1a,/, ''), 'base64');
    expect(keys.some((jwk) => verify(null, signed, createPublicKey({ key: jwk as never, format: 'jwk' }), signature))).toBe(true);

    // The answer is recorded once the receiver has answered: look until it is.
    const deliveries = async () => (await host.app.inject({ method: 'GET', url: `/v1/webhooks/${sub.json().id}/deliveries`, headers: { authorization: `Bearer ${tokens.anitpAdmin}` } })).json().items;
    const until = Date.now() + 5_000;
    while ((await deliveries())[0]?.status !== 'delivered' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(await deliveries()).toEqual([expect.objectContaining({ status: 'delivered', attempts: 1, lastStatusCode: 200 })]);
  });
});
