import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectJetStreamBus, type JetStreamBus } from '@trm/bus';
import { createPgDb, postgresRolesSql } from '@trm/db';
import { devJwks, loadOrCreateDevKey, signToken } from '@trm/platform';
import { referralsModule } from '@trm/referrals';
import { repatriationModule } from '@trm/repatriation';
import { type Host, buildHost, loadHostConfig, type ServiceModule } from '@trm/runtime';
import { createTestDatabase, natsUrl, randomSuffix, type TestDatabase } from '@trm/testing';
import { generateMasterKey } from '@trm/vault';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER, notification } from './support/stack.js';

/**
 * The services as docker-compose runs them: each with its own PostgreSQL role (deploy/postgres/
 * roles.sql), owning its schema only. Referrals and repatriation run side by side; repatriation
 * learns a case by reading referrals' events table, and can read nothing else of referrals.
 */
let testDb: TestDatabase;
const suffix = randomSuffix();
const roleOf = (s: string) => `trm_t${suffix}_${s}`;
const hosts: Host[] = [];
const buses: JetStreamBus[] = [];
let keyDir: string;
let token: string;

function urlAs(role: string): string {
  const u = new URL(testDb.url);
  u.username = role;
  u.password = 'pw';
  return u.toString();
}

async function hostAs(module: ServiceModule, stream: { streamName: string; subjectsPrefix: string }, seed: boolean): Promise<Host> {
  const { db } = createPgDb(urlAs(roleOf(module.name)), { max: 6, applicationName: `trm-lp-${module.name}` });
  const bus = await connectJetStreamBus({ servers: natsUrl(), ...stream });
  buses.push(bus);
  const env = { LOG_LEVEL: 'silent', TRM_DATA_DIR: keyDir, RATE_LIMIT_PER_MINUTE: '100000' };
  const devKey = await loadOrCreateDevKey(keyDir);
  const host = await buildHost({
    mode: 'distributed',
    modules: [module],
    config: loadHostConfig(env),
    db,
    bus,
    auth: { jwks: { keys: devJwks(devKey).keys }, issuer: ISSUER, audience: AUDIENCE },
    masterKeys: `lp-1:${generateMasterKey()}`,
    env,
    seedDemoOrganisations: seed,
    logger: false,
    relayPollMs: 200,
  });
  await host.app.ready();
  hosts.push(host);
  return host;
}

beforeAll(async () => {
  testDb = await createTestDatabase('trm_least_privilege');
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'trm-lp-keys-'));
  const admin = new pg.Client({ connectionString: testDb.url });
  await admin.connect();
  try {
    await admin.query(postgresRolesSql({ database: testDb.name, roleOf: (s) => roleOf(s), passwordOf: () => `'pw'` }));
  } finally {
    await admin.end();
  }
  const stream = { streamName: `TRM_TEST_${suffix}`, subjectsPrefix: `trmtest${suffix}` };
  await hostAs(referralsModule, stream, true);
  await hostAs(repatriationModule, stream, false);
  token = await signToken(await loadOrCreateDevKey(keyDir), { org: 'ngo-it', orgType: 'ngo', roles: ['notifier', 'case_officer'], issuer: ISSUER, audience: AUDIENCE });
}, 120_000);

afterAll(async () => {
  for (const h of hosts.reverse()) await h.close().catch(() => {});
  await buses[0]?.deleteStream().catch(() => {});
  await testDb?.drop();
  const admin = new pg.Client({ connectionString: testDb.url.replace(/\/[^/]*$/, '/postgres') });
  await admin.connect().catch(() => {});
  for (const s of ['referrals', 'repatriation', 'proceedings', 'statistics', 'ledger']) await admin.query(`drop role if exists "${roleOf(s)}"`).catch(() => {});
  await admin.end().catch(() => {});
  await rm(keyDir, { recursive: true, force: true });
});

async function asRole(service: string, query: string): Promise<{ ok: true } | { ok: false; code: string }> {
  const c = new pg.Client({ connectionString: urlAs(roleOf(service)) });
  await c.connect();
  try {
    await c.query(query);
    return { ok: true };
  } catch (err) {
    return { ok: false, code: (err as { code: string }).code };
  } finally {
    await c.end();
  }
}

describe('one PostgreSQL role per service', () => {
  it('lets repatriation, as its own role, learn a case from referrals events', async () => {
    const created = await hosts[0]!.app.inject({ method: 'POST', url: '/v1/cases', headers: { authorization: `Bearer ${token}` }, payload: notification() });
    expect(created.statusCode).toBe(201);
    const caseId = created.json().caseId as string;
    const { db } = createPgDb(testDb.url, { max: 1 });
    try {
      const deadline = Date.now() + 20_000;
      let n = 0;
      while (n === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        n = (await sql<{ n: number }>`select count(*)::int as n from repatriation.case_facts where case_id = ${caseId}`.execute(db)).rows[0]!.n;
      }
      expect(n).toBe(1);
    } finally {
      await db.destroy();
    }
  });

  it("refuses another service's role everything but reading the events and the registry", async () => {
    expect(await asRole('repatriation', 'select count(*) from referrals.events')).toEqual({ ok: true });
    expect(await asRole('repatriation', 'select count(*) from registry.organisations')).toEqual({ ok: true });
    const denied = { ok: false, code: '42501' };
    expect(await asRole('repatriation', 'select * from referrals.vault_fields')).toEqual(denied);
    expect(await asRole('repatriation', 'select * from referrals.vault_keys')).toEqual(denied);
    expect(await asRole('repatriation', 'select * from referrals.inbox')).toEqual(denied);
    expect(await asRole('repatriation', 'select * from registry.idempotency_keys')).toEqual(denied);
    expect(await asRole('repatriation', "update registry.organisations set active = false where id = 'anitp'")).toEqual(denied);
    expect(await asRole('repatriation', "insert into referrals.relay_checkpoints (relay, transaction_id, global_position) values ('x', '1', 1)")).toEqual(denied);
    expect(await asRole('repatriation', 'create schema intruder')).toEqual(denied);
    // Its own schema is its own.
    expect(await asRole('repatriation', 'select count(*) from repatriation.case_facts')).toEqual({ ok: true });
  });
});
