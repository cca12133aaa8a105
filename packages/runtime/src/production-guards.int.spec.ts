import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectJetStreamBus, InProcessBus } from '@trm/bus';
import { createPgDb, type Db } from '@trm/db';
import { loadOrCreateDevKey, signToken } from '@trm/platform';
import { createTestDatabase, natsUrl, randomSuffix, type TestDatabase } from '@trm/testing';
import { generateMasterKey } from '@trm/vault';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHost, ConfigError, createEmbeddedHost, loadHostConfig, type ServiceModule, startDistributed } from './index.js';

/**
 * NODE_ENV=production (the Dockerfile sets it) refuses what only development may use, at start,
 * with a message naming each thing; development runs keep working.
 */
const EMPTY_MODULE = { name: 'guards', schema: 'guards', defaultPort: 0, mount: async () => ({}) } as unknown as ServiceModule;

let testDb: TestDatabase;
let db: Db;
let dir: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  ({ db } = createPgDb(testDb.url, { max: 4 }));
  dir = await mkdtemp(path.join(tmpdir(), 'trm-guards-'));
});
afterAll(async () => {
  await db?.destroy();
  await testDb?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const distributedEnv = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: testDb.url,
  NATS_URL: natsUrl(),
  TRM_MASTER_KEYS: `guard-1:${generateMasterKey()}`,
  LOG_LEVEL: 'silent',
  ...extra,
});

async function refusal(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as Error).message;
}

describe('NODE_ENV=production', () => {
  it('refuses the embedded host: development signing key and demo organisations, creating nothing', async () => {
    const data = path.join(dir, 'embedded-prod');
    const message = await refusal(createEmbeddedHost([], { NODE_ENV: 'production', TRM_DATA_DIR: data, LOG_LEVEL: 'silent' }, { inMemory: true }));
    expect(message).toMatch(/^NODE_ENV=production refuses to start with:/);
    expect(message).toContain('the development signing key');
    expect(message).toContain('demo organisations');
    expect(message).toContain('JWT_ISSUER');
    expect(message).toContain('JWT_AUDIENCE');
    // No development key (nor anything else) was written for an attacker to find.
    expect(existsSync(data)).toBe(false);
  });

  it('refuses a distributed service with the development issuer and audience', async () => {
    const message = await refusal(startDistributed(EMPTY_MODULE, distributedEnv({ NODE_ENV: 'production', JWKS_URL: 'https://idp.example/jwks' })));
    expect(message).toContain('development token issuer (trm-dev): set JWT_ISSUER');
    expect(message).toContain('default token audience (trm): set JWT_AUDIENCE');
    expect(message).not.toContain('JWKS_URL');
    // Naming the development issuer explicitly is no better than leaving it unset.
    const explicit = await refusal(
      startDistributed(EMPTY_MODULE, distributedEnv({ NODE_ENV: 'production', JWKS_URL: 'https://idp.example/jwks', JWT_ISSUER: 'trm-dev', JWT_AUDIENCE: 'trm-api' })),
    );
    expect(explicit).toContain('JWT_ISSUER');
    expect(explicit).not.toContain('JWT_AUDIENCE');
  });

  it('refuses a JWKS_URL over plain http unless JWKS_ALLOW_HTTP=true', async () => {
    const env = distributedEnv({ NODE_ENV: 'production', JWKS_URL: 'http://idp.example/jwks', JWT_ISSUER: 'https://idp.example', JWT_AUDIENCE: 'trm-api' });
    const message = await refusal(startDistributed(EMPTY_MODULE, env));
    expect(message).toContain('JWKS_URL that is not https://');
    expect(message.split('\n')).toHaveLength(2);
  });

  it('starts a distributed service configured for production (https JWKS, its own issuer and audience)', async () => {
    const suffix = randomSuffix();
    const streams = { NATS_STREAM: `TRM_GUARDS_${suffix}`, NATS_SUBJECT_PREFIX: `trmguards${suffix}` };
    for (const jwks of ['https://idp.example/jwks', 'http://127.0.0.1:9/jwks']) {
      const host = await startDistributed(
        EMPTY_MODULE,
        distributedEnv({ NODE_ENV: 'production', JWKS_URL: jwks, JWKS_ALLOW_HTTP: jwks.startsWith('http:') ? 'true' : 'false', JWT_ISSUER: 'https://idp.example', JWT_AUDIENCE: 'trm-api', ...streams }),
      );
      try {
        expect((await host.app.inject({ url: '/health/live' })).statusCode).toBe(200);
      } finally {
        await host.close();
      }
    }
    const bus = await connectJetStreamBus({ servers: natsUrl(), streamName: streams.NATS_STREAM, subjectsPrefix: streams.NATS_SUBJECT_PREFIX });
    await bus.deleteStream().catch(() => {});
    await bus.close();
  });

  it('refuses a host built by hand that would seed the demo organisations or use the development key', async () => {
    const env = { NODE_ENV: 'production', JWT_ISSUER: 'https://idp.example', JWT_AUDIENCE: 'trm-api', LOG_LEVEL: 'silent' };
    const message = await refusal(
      buildHost({
        mode: 'distributed',
        modules: [],
        config: loadHostConfig(env),
        db,
        bus: new InProcessBus(),
        auth: { jwks: { keys: [] }, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE },
        masterKeys: `guard-1:${generateMasterKey()}`,
        env,
        seedDemoOrganisations: true,
        devSigningKey: true,
      }),
    );
    expect(message).toContain('demo organisations');
    expect(message).toContain('development signing key');
    // Refused before anything was seeded.
    const { rows: tables } = await sql<{ t: string | null }>`select to_regclass('registry.organisations')::text as t`.execute(db);
    if (tables[0]!.t !== null) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from registry.organisations`.execute(db);
      expect(rows[0]!.n).toBe(0);
    }
  });
});

describe('NODE_ENV=development', () => {
  it('runs the embedded host with the development key and demo organisations; the registry operators come from TRM_REGISTRY_OPERATORS', async () => {
    const data = path.join(dir, 'embedded-dev');
    const host = await createEmbeddedHost([], { NODE_ENV: 'development', TRM_DATA_DIR: data, LOG_LEVEL: 'silent', TRM_REGISTRY_OPERATORS: 'iom-it, anitp' }, { inMemory: true });
    try {
      expect(await readdir(data)).toContain('dev-signing-key.jwk.json');
      const key = await loadOrCreateDevKey(data);
      const operatorOf = (org: string, orgType: 'international_organisation' | 'ngo' | 'national_contact_point') =>
        signToken(key, { org, orgType, roles: ['operator'], issuer: host.config.JWT_ISSUER, audience: host.config.JWT_AUDIENCE });
      const metrics = async (org: string, orgType: 'international_organisation' | 'ngo' | 'national_contact_point') =>
        (await host.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${await operatorOf(org, orgType)}` } })).statusCode;
      expect(await metrics('iom-it', 'international_organisation')).toBe(200);
      expect(await metrics('anitp', 'national_contact_point')).toBe(200);
      expect(await metrics('ngo-it', 'ngo')).toBe(403);
      expect((await host.app.inject({ url: '/metrics' })).statusCode).toBe(401);
    } finally {
      await host.close();
    }
  });

  it('refuses a TRM_REGISTRY_OPERATORS that names no organisation', () => {
    expect(() => loadHostConfig({ TRM_REGISTRY_OPERATORS: ' , ' })).toThrow(/TRM_REGISTRY_OPERATORS/);
    expect(() => loadHostConfig({ TRM_REGISTRY_OPERATORS: 'ANITP' })).toThrow(/TRM_REGISTRY_OPERATORS/);
    expect(loadHostConfig({}).TRM_REGISTRY_OPERATORS).toEqual(['anitp']);
  });
});
