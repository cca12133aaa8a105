import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type App, createApp, devJwks, loadOrCreateDevKey, type OrgDirectory, type Organisation, signToken } from './index.js';

const ORG: Organisation = {
  id: 'anitp',
  type: 'national_contact_point',
  country: 'RO',
  name: 'ANITP',
  parentId: null,
  active: true,
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
};
const orgs: OrgDirectory = {
  get: async (id) => (id === ORG.id ? ORG : undefined),
  list: async () => [ORG],
  nationalContactPoints: async () => [ORG],
};

let app: App | undefined;
let dir: string | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function build(extra: Partial<Parameters<typeof createApp>[0]>) {
  dir = await mkdtemp(path.join(tmpdir(), 'trm-limits-'));
  const key = await loadOrCreateDevKey(dir);
  app = await createApp({
    logger: false,
    auth: { jwks: { keys: devJwks(key).keys }, issuer: 'iss', audience: 'aud' },
    orgs,
    openapi: { title: 't', version: '0' },
    ...extra,
  });
  app.post('/v1/echo', { config: { access: { roles: ['case_officer'] } } }, async () => ({ ok: true }));
  app.get('/v1/ping', { config: { access: { public: true } } }, async () => ({ ok: true }));
  await app.ready();
  const token = await signToken(key, { org: 'anitp', orgType: 'national_contact_point', roles: ['case_officer'], issuer: 'iss', audience: 'aud' });
  return { app, token };
}

/** Blocks the event loop, as a CPU-bound request or a long GC pause would. */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
}

describe('request deadline', () => {
  it('answers 408 and closes the socket of a client that never finishes its request (slow loris)', async () => {
    const { app, token } = await build({ requestTimeoutMs: 300, pressure: false });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const port = Number(new URL(address).port);
    const answer = await new Promise<string>((resolve, reject) => {
      let data = '';
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.write(`POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`);
      });
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      // The assertion below is about the status, not speed: this only bounds a broken run.
      setTimeout(() => {
        socket.destroy();
        resolve(data);
      }, 15_000).unref();
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('load shedding', () => {
  it('answers 503 overloaded with Retry-After while the event loop lags, liveness still answers', async () => {
    const { app, token } = await build({ pressure: { maxEventLoopDelayMs: 50, sampleIntervalMs: 400, retryAfterS: 7 } });
    let shed;
    const deadline = Date.now() + 20_000;
    while (!shed && Date.now() < deadline) {
      busy(600);
      // Let the overdue sampler run: its sample now holds the 600 ms stall.
      await new Promise((r) => setTimeout(r, 5));
      const res = await app.inject({ method: 'POST', url: '/v1/echo', headers: { authorization: `Bearer ${token}` }, payload: {} });
      if (res.statusCode === 503) {
        shed = res;
        const live = await app.inject({ url: '/health/live' });
        expect(live.statusCode).toBe(200);
      }
    }
    expect(shed?.headers['retry-after']).toBe('7');
    expect(shed?.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(shed?.json()).toMatchObject({ status: 503, code: 'overloaded' });
    // Once the loop is idle again the next samples clear the pressure.
    const until = Date.now() + 20_000;
    let after = 0;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      after = (await app.inject({ url: '/v1/ping' })).statusCode;
      if (after === 200) break;
    }
    expect(after).toBe(200);
  });

  it('is on by default with a one-second delay limit, and can be turned off', async () => {
    const { app } = await build({ pressure: false });
    expect(app.hasDecorator('memoryUsage')).toBe(false);
    await app.close();
    const on = await build({});
    expect(on.app.hasDecorator('memoryUsage')).toBe(true);
  });
});
