import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateDevKey, signToken } from '@trm/platform';
import { createEmbeddedHost } from '@trm/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODULES } from '../../../apps/trm/src/modules.js';
import { notifyFromPartner } from './example.js';
import { TrmProblem, createTrmClient } from './index.js';

/** The SDK against a live embedded TRM, over real HTTP, as a partner's integration would use it. */
let host: Awaited<ReturnType<typeof createEmbeddedHost>>;
let baseUrl: string;
let dataDir: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'trm-sdk-'));
  host = await createEmbeddedHost(MODULES, { NODE_ENV: 'development', LOG_LEVEL: 'silent', TRM_DATA_DIR: dataDir }, { inMemory: true });
  await host.app.listen({ port: 0, host: '127.0.0.1' });
  const address = host.app.server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const key = await loadOrCreateDevKey(host.config.dataDir);
  const sign = (org: string, orgType: Parameters<typeof signToken>[1]['orgType'], roles: Parameters<typeof signToken>[1]['roles']) =>
    signToken(key, { org, orgType, roles, issuer: host.config.JWT_ISSUER, audience: host.config.JWT_AUDIENCE });
  tokens.ngo = await sign('ngo-it', 'ngo', ['notifier', 'case_officer']);
  tokens.anitp = await sign('anitp', 'national_contact_point', ['case_officer']);
  tokens.shelter = await sign('provider-shelter', 'service_provider', ['service_provider']);
}, 60_000);

afterAll(async () => {
  await host?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('@trm/sdk', () => {
  it("writes a partner's notification in a dozen lines, with typed answers, ETags and If-Match", async () => {
    // What docs/integration.md shows a partner (packages/sdk/src/example.ts, type-checked on build).
    const caseId = await notifyFromPartner(baseUrl, tokens.ngo!);
    expect(caseId).toMatch(/^[0-9a-f-]{36}$/);

    const anitp = createTrmClient({ baseUrl, token: tokens.anitp! });
    const read = await anitp.GET('/v1/cases/{caseId}', { params: { path: { caseId } } });
    const etag = anitp.etagOf(read.response)!;
    expect(etag).toBe('"1"');
    const ack = { keyContactId: 'officer-1', alternateContactId: 'officer-2', regionalCentreId: 'anitp-rc-bucharest' };
    const acknowledged = await anitp.POST('/v1/cases/{caseId}/acknowledgement', { params: { path: { caseId }, header: anitp.ifMatch(etag) as never }, body: ack as never });
    expect(acknowledged.response.status).toBe(200);

    // The same If-Match again: the case moved on, so a typed problem, not a silent overwrite.
    const stale = await anitp
      .POST('/v1/cases/{caseId}/acknowledgement', { params: { path: { caseId }, header: anitp.ifMatch(etag) as never }, body: ack as never })
      .catch((err: unknown) => err);
    expect(stale).toBeInstanceOf(TrmProblem);
    expect((stale as TrmProblem).status).toBe(412);
    expect((stale as TrmProblem).code).toBeTruthy();
    expect((stale as TrmProblem).requestId).toBeTruthy();
  });

  it('raises problems as typed exceptions: 404 for a case the caller does not take part in, 400 with pointers', async () => {
    const shelter = createTrmClient({ baseUrl, token: tokens.shelter! });
    const ngo = createTrmClient({ baseUrl, token: tokens.ngo! });
    const { data } = await ngo.GET('/v1/cases', { params: { query: {} } });
    const caseId = (data as { items: Array<{ caseId: string }> }).items[0]!.caseId;
    const hidden = await shelter.GET('/v1/cases/{caseId}', { params: { path: { caseId } } }).catch((e: unknown) => e);
    expect(hidden).toMatchObject({ name: 'TrmProblem', status: 404 });
    const bad = await ngo.POST('/v1/cases', { body: { situation: 'nonsense' } as never }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(TrmProblem);
    expect((bad as TrmProblem).status).toBe(400);
    expect((bad as TrmProblem).errors?.some((e) => e.pointer === '/situation')).toBe(true);
  });

  it('sends an Idempotency-Key with every POST, so a retried notification is answered once', async () => {
    const seen: string[] = [];
    const ngo = createTrmClient({
      baseUrl,
      token: tokens.ngo!,
      fetch: async (input: Request | string | URL, init?: RequestInit) => {
        const request = input instanceof Request ? input : new Request(input, init);
        if (request.method === 'POST') seen.push(request.headers.get('idempotency-key') ?? '');
        return fetch(request);
      },
    });
    const body = { situation: 'identified_by_international_ngo', countryOfIdentification: 'IT', countryOfExploitation: 'IT', identificationDate: '2026-11-18', formsOfExploitation: ['forced_labour'], sex: 'male', age: 30, citizenship: 'RO', traffickedAcrossBorders: true, recruiterRelation: 'friend_or_acquaintance', returnWanted: false, person: { givenName: 'Ion' } };
    const first = await ngo.POST('/v1/cases', { body: body as never, headers: { 'Idempotency-Key': 'partner-retry-1' } });
    const again = await ngo.POST('/v1/cases', { body: body as never, headers: { 'Idempotency-Key': 'partner-retry-1' } });
    expect((again.data as { caseId: string }).caseId).toBe((first.data as { caseId: string }).caseId);
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    await ngo.POST('/v1/cases', { body: body as never });
    expect(seen).toHaveLength(3);
    expect(seen[2]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('iterates a list across pages by its cursor', async () => {
    const ngo = createTrmClient({ baseUrl, token: tokens.ngo! });
    const all: string[] = [];
    for await (const c of ngo.paginate<{ caseId: string }>((cursor) => ngo.GET('/v1/cases', { params: { query: { limit: 1, ...(cursor ? { cursor } : {}) } as never } }) as never)) {
      all.push(c.caseId);
    }
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect(new Set(all).size).toBe(all.length);
  });
});
