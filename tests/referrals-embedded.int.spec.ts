import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateDevKey, signToken, type OrgType, type Role } from '@trm/platform';
import { referralsModule } from '@trm/referrals';
import { createEmbeddedHost } from '@trm/runtime';
import { notification } from './support/stack.js';
import { appendSourceEvent } from './support/source-events.js';

/**
 * What `make run` serves: PGlite (one connection), the in-process bus and the module's own
 * scheduler. Registry reads stay outside transactions and the deadlines table's arrays work on
 * PGlite too.
 */
let host: Awaited<ReturnType<typeof createEmbeddedHost>>;
let dataDir: string;
const now = { t: new Date() };
const tokens: Record<string, string> = {};

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'trm-referrals-embedded-'));
  host = await createEmbeddedHost([referralsModule], { LOG_LEVEL: 'silent', TRM_DATA_DIR: dataDir, TRM_DEADLINE_SCAN_SECONDS: '0.2' }, { inMemory: true });
  await host.app.ready();
  const key = await loadOrCreateDevKey(host.config.dataDir);
  const sign = (org: string, orgType: OrgType, roles: Role[]) => signToken(key, { org, orgType, roles, issuer: host.config.JWT_ISSUER, audience: host.config.JWT_AUDIENCE });
  tokens.ngo = await sign('ngo-it', 'ngo', ['notifier', 'case_officer']);
  tokens.anitp = await sign('anitp', 'national_contact_point', ['case_officer']);
  tokens.shelter = await sign('provider-shelter', 'service_provider', ['service_provider']);
});
afterAll(async () => {
  await host?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const call = (who: string, method: 'GET' | 'POST', url: string, payload?: object) =>
  host.app.inject({ method, url, headers: { authorization: `Bearer ${tokens[who]}` }, ...(payload ? { payload } : {}) });

describe('referrals in embedded mode', () => {
  it('runs the case file, the deadlines and the hand-over consumer on PGlite', async () => {
    const caseId = (await call('ngo', 'POST', '/v1/cases', notification({ identificationDate: now.t.toISOString().slice(0, 10), plannedReturnDate: undefined }))).json().caseId;
    const today = now.t.toISOString().slice(0, 10);
    expect((await call('anitp', 'POST', `/v1/cases/${caseId}/consents`, { purpose: 'assistance', givenOn: today })).statusCode).toBe(200);
    expect((await call('anitp', 'POST', `/v1/cases/${caseId}/consents`, { purpose: 'sharing', sharingWith: 'provider-shelter', givenOn: today })).statusCode).toBe(200);
    const made = await call('anitp', 'POST', `/v1/cases/${caseId}/service-referrals`, { service: 'shelter', providerOrganisationId: 'provider-shelter' });
    expect(made.statusCode).toBe(201);
    expect((await call('shelter', 'GET', `/v1/cases/${caseId}/personal-data?purpose=assistance`)).json().data.givenName).toBe('Ana');
    const deadlines = (await call('anitp', 'GET', '/v1/deadlines')).json();
    expect(deadlines.items.map((d: { kind: string }) => d.kind)).toEqual(['acknowledgement']);

    await appendSourceEvent(host.db, host.bus, {
      service: 'repatriation',
      streamId: `return-${caseId}`,
      type: 'HandedOverToAssistance',
      data: { caseId, returnId: 'r-1', receivingOrganisationId: 'anitp-rc-bucharest', services: ['legal'], handedOverAt: now.t.toISOString() },
      organisation: 'iom-it',
      now: now.t,
    });
    let services: string[] = [];
    const until = Date.now() + 15_000;
    while (services.length < 2 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      services = (await call('anitp', 'GET', `/v1/cases/${caseId}`)).json().referrals.map((r: { service: string }) => r.service);
    }
    expect(services).toEqual(['shelter', 'legal']);
    const timeline = (await call('anitp', 'GET', `/v1/cases/${caseId}/timeline`)).json();
    expect(timeline.entries.length).toBeGreaterThan(4);
  });
});
