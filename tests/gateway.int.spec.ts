import { readFile } from 'node:fs/promises';
import { repatriationModule } from '@trm/repatriation';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_ROUTES, createGateway } from '../apps/trm/src/gateway.js';
import { OPENAPI_FILE } from '../apps/trm/src/openapi.js';
import { type Stack, notification, startReferralsStack, startStack } from './support/stack.js';

/** One base URL for partners: the gateway in front of services that each run on their own port. */
let referrals: Stack;
let repatriation: Stack;
let gateway: FastifyInstance;
let base: string;
const urlOf = async (app: FastifyInstance) => {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const a = app.server.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
};

beforeAll(async () => {
  referrals = await startReferralsStack();
  repatriation = await startStack({ modules: [repatriationModule] });
  const referralsUrl = await urlOf(referrals.app);
  const repatriationUrl = await urlOf(repatriation.app);
  // Services not started here answer nothing: readiness must say so.
  const nowhere = 'http://127.0.0.1:9';
  gateway = await createGateway({ upstreams: { referrals: referralsUrl, repatriation: repatriationUrl, proceedings: nowhere, statistics: nowhere, ledger: nowhere }, readinessTimeoutMs: 500 });
  base = await urlOf(gateway);
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await referrals?.close();
  await repatriation?.close();
});

describe('the gateway', () => {
  it('routes each path to the service that owns it, passing the token and body through unchanged', async () => {
    const token = await referrals.token('ngo-it', ['notifier', 'case_officer']);
    const created = await fetch(`${base}/v1/cases`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(notification()) });
    expect(created.status).toBe(201);
    const { caseId } = (await created.json()) as { caseId: string };
    const read = await fetch(`${base}/v1/cases/${caseId}`, { headers: { authorization: `Bearer ${token}` } });
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe('"1"');
    const returns = await fetch(`${base}/v1/returns`, { headers: { authorization: `Bearer ${await repatriation.token('ngo-it', ['notifier', 'case_officer'])}` } });
    expect(returns.status).toBe(200);
    // The services still decide: no token, no answer.
    expect((await fetch(`${base}/v1/cases/${caseId}`)).status).toBe(401);
    const unknown = await fetch(`${base}/v1/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
  });

  it('serves the whole contract and is ready only when every service is', async () => {
    const doc = await (await fetch(`${base}/openapi.json`)).json();
    expect(Object.keys(doc.paths)).toContain('/v1/returns');
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { detail: string }).detail).toBe('not ready: proceedings, statistics, ledger');
  });

  it('has a route for every path of the contract, to the service of its tag', async () => {
    const doc = JSON.parse(await readFile(OPENAPI_FILE, 'utf8')) as { paths: Record<string, Record<string, { tags?: string[] }>> };
    const tagService: Record<string, string> = { cases: 'referrals', referrals: 'referrals', registry: 'referrals', returns: 'repatriation', repatriation: 'repatriation', proceedings: 'proceedings', statistics: 'statistics', ledger: 'ledger', webhooks: 'referrals' };
    for (const [p, item] of Object.entries(doc.paths)) {
      // Every host has its own operator routes: an operator reaches them on the service itself.
      if (!p.startsWith('/v1/') || p.startsWith('/v1/operator')) continue;
      const route = GATEWAY_ROUTES.find((r) => p === r.prefix || p.startsWith(`${r.prefix}/`));
      expect(route, p).toBeDefined();
      for (const op of Object.values(item)) {
        const tag = op.tags?.[0];
        if (tag && tagService[tag]) expect(route!.service, `${p} (${tag})`).toBe(tagService[tag]);
      }
    }
  });
});
