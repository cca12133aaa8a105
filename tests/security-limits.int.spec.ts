import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiRoute, apiRoutes, concreteUrl, exampleBody, key, rolesOf } from './support/security/routes.js';
import { quiescentEventCounts, eventCounts, type SecurityStack, startSecurityStack } from './support/security/stack.js';
import { buildWorld, FOREIGN_ORGS, registerForeignOrganisations, type World } from './support/security/world.js';

/**
 * Limits of the composed API, generated from its route table: body size on every command, page
 * size on every listing, the per-organisation rate limit, a budget for refused tokens per address,
 * the request deadline and load shedding.
 */
const BODY_LIMIT = 8192;
// Room for the page-size check (three requests per listing, as ANITP) before the rate-limit
// checks spend a budget of their own: the listings grow with the API.
const RATE = 150;
let stack: SecurityStack;
let world: World;
let routes: ApiRoute[];
/** Organisations whose budgets the generated checks share, so none of them reaches the rate limit. */
let spread: string[];
let turn = 0;

beforeAll(async () => {
  stack = await startSecurityStack({
    now: new Date('2026-11-20T10:00:00.000Z'),
    env: { BODY_LIMIT_BYTES: String(BODY_LIMIT), RATE_LIMIT_PER_MINUTE: String(RATE), REQUEST_TIMEOUT_MS: '800' },
  });
  await registerForeignOrganisations(stack);
  world = await buildWorld(stack, { givenName: 'Limit', familyName: 'Tester' });
  routes = apiRoutes(stack.app).filter((r) => !('public' in r.rule));
  spread = ['anitp', 'ngo-it', 'iom-it', 'police-it', 'consulate-ro-it', 'dgaspc-bucharest', 'provider-shelter', 'auditor-ro', 'anitp-rc-bucharest', ...Object.keys(FOREIGN_ORGS).filter((o) => o !== 'foreign-stats')];
}, 120_000);
afterAll(async () => stack?.close());

async function tokenFor(route: ApiRoute): Promise<string> {
  // Registry administration answers 403 to every organisation but the registry operator's, before the body is read.
  const org = 'registryOperator' in route.rule ? 'anitp' : spread[turn++ % spread.length]!;
  return stack.token(org, [rolesOf(route.rule)[0]!]);
}

describe('body size', () => {
  it('refuses a body over the limit on every command with 413, writing nothing', async () => {
    const before = await quiescentEventCounts(stack.db);
    const failures: string[] = [];
    const commands = routes.filter((r) => r.hasBody);
    expect(commands.length).toBeGreaterThan(40);
    for (const r of commands) {
      const payload = { ...exampleBody(r, world), padding: 'x'.repeat(BODY_LIMIT) };
      const res = await stack.app.inject({ method: r.method as 'POST', url: concreteUrl(r, world), headers: { authorization: `Bearer ${await tokenFor(r)}` }, payload });
      if (res.statusCode !== 413 || res.json().code !== 'payload-too-large') failures.push(`${key(r)} → ${res.statusCode}`);
    }
    expect(failures).toEqual([]);
    expect(await eventCounts(stack.db)).toEqual(before);
  });
});

describe('page size', () => {
  it('caps the page size of every listing: the documented maximum is accepted, one more is refused', async () => {
    const listings = routes.filter((r) => r.method === 'GET' && r.query.some((q) => q.name === 'limit'));
    expect(listings.length).toBeGreaterThanOrEqual(5);
    const failures: string[] = [];
    for (const r of listings) {
      const schema = r.query.find((q) => q.name === 'limit')!.schema;
      const max = Number(schema.maximum);
      if (!Number.isInteger(max) || max > 1000) {
        failures.push(`${key(r)}: limit has no cap of at most 1000 (${JSON.stringify(schema)})`);
        continue;
      }
      const url = concreteUrl(r, world);
      const join = url.includes('?') ? '&' : '?';
      // A participant with every reading organisation type's access, so only the limit can refuse.
      const token = await stack.token('anitp', [rolesOf(r.rule)[0]!]);
      const over = await stack.app.inject({ url: `${url}${join}limit=${max + 1}`, headers: { authorization: `Bearer ${token}` } });
      if (over.statusCode !== 400) failures.push(`${key(r)} limit=${max + 1} → ${over.statusCode}`);
      const huge = await stack.app.inject({ url: `${url}${join}limit=100000000`, headers: { authorization: `Bearer ${token}` } });
      if (huge.statusCode !== 400) failures.push(`${key(r)} limit=100000000 → ${huge.statusCode}`);
      const atMax = await stack.app.inject({ url: `${url}${join}limit=${max}`, headers: { authorization: `Bearer ${token}` } });
      if (atMax.statusCode === 400) failures.push(`${key(r)} limit=${max} → 400 ${atMax.body.slice(0, 120)}`);
    }
    expect(failures).toEqual([]);
  });
});

describe('deadlines and load', () => {
  it('answers 408 to a client that does not finish its request within REQUEST_TIMEOUT_MS', async () => {
    expect(stack.app.server.requestTimeout).toBe(800);
    const address = await stack.app.listen({ port: 0, host: '127.0.0.1' });
    const token = await stack.token('anitp', ['case_officer']);
    const answer = await new Promise<string>((resolve, reject) => {
      let data = '';
      const socket = net.connect({ host: '127.0.0.1', port: Number(new URL(address).port) }, () => {
        socket.write(`POST /v1/cases/${world.caseId}/risk-flags HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"kind":`);
      });
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      setTimeout(() => {
        socket.destroy();
        resolve(data);
      }, 20_000).unref();
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('sheds load with under-pressure, liveness excepted', async () => {
    expect(stack.app.hasDecorator('memoryUsage')).toBe(true);
    expect((await stack.app.inject({ url: '/health/live' })).statusCode).toBe(200);
  });
});

describe('rate limits', () => {
  it('answers 429 once an organisation spends its budget, with Retry-After, while other organisations go on', async () => {
    const stats = await stack.token('foreign-stats', ['statistics_reader', 'case_officer']);
    const route = routes.find((r) => r.method === 'GET' && r.url.startsWith('/v1/cases') && !r.url.includes(':')) ?? routes[0]!;
    const statuses: number[] = [];
    for (let i = 0; i <= RATE; i++) {
      statuses.push((await stack.app.inject({ url: route.url, headers: { authorization: `Bearer ${stats}` } })).statusCode);
    }
    expect(statuses.slice(0, RATE).every((s) => s !== 429)).toBe(true);
    const limited = await stack.app.inject({ url: route.url, headers: { authorization: `Bearer ${stats}` } });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'rate-limited', status: 429 });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // The same user from another organisation's budget is unaffected.
    const other = await stack.app.inject({ url: route.url, headers: { authorization: `Bearer ${await stack.token('anitp', ['case_officer'])}` } });
    expect(other.statusCode).toBe(200);
  });

  it('budgets refused tokens per address, so guessing or flooding with bad tokens is cut off, yet valid tokens from that address are served', async () => {
    // Last: this address stays cut off for refused requests during the window.
    const statuses: number[] = [];
    for (let i = 0; i < RATE + 2; i++) {
      statuses.push((await stack.app.inject({ url: '/v1/cases', headers: { authorization: `Bearer a.b.c${i}` } })).statusCode);
    }
    expect(statuses.slice(0, RATE)).toEqual(Array(RATE).fill(401));
    expect(statuses.slice(RATE)).toEqual([429, 429]);
    const res = await stack.app.inject({ url: '/v1/cases' });
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('rate-limited');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    // The flood came through a partner's proxy: the colleagues behind it, with real tokens, are
    // not locked out (their organisations' own budgets still apply).
    for (const org of ['ngo-it', 'anitp']) {
      const valid = await stack.app.inject({ url: '/v1/cases', headers: { authorization: `Bearer ${await stack.token(org, ['case_officer'])}` } });
      expect(valid.statusCode, org).toBe(200);
    }
  });
});
