import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { connectJetStreamBus, startRelay, type JetStreamBus, type Relay } from '@trm/bus';
import { createPgDb, migrate, type Db } from '@trm/db';
import { createEventStore } from '@trm/event-store';
import {
  type App,
  createApp,
  createMetricsRegistry,
  createOrgDirectory,
  devJwks,
  loadOrCreateDevKey,
  registryRoutes,
  seedDemoOrganisations,
  signToken,
  type OrgType,
  type Role,
} from '@trm/platform';
import { REFERRALS_SCHEMA, createReferralsContext, referralsService } from '@trm/referrals';
import { createTestDatabase, natsUrl, randomSuffix, type TestDatabase } from '@trm/testing';
import { createVault, generateMasterKey } from '@trm/vault';
import { DEMO_ORGANISATION_TYPES } from '../../apps/trm/src/demo.js';

export const ISSUER = 'trm-test';
export const AUDIENCE = 'trm';

export interface Stack {
  app: App;
  db: Db;
  bus: JetStreamBus;
  relay: Relay;
  /** Every log line the app wrote, as text. */
  logs: string[];
  streamName: string;
  subjectsPrefix: string;
  token(org: string, roles: Role[], extra?: { orgType?: OrgType; sub?: string }): Promise<string>;
  clock: { now: Date };
  close(): Promise<void>;
}

/**
 * The referrals service as it runs in distributed mode: real PostgreSQL (a fresh database), real
 * NATS JetStream (a fresh stream and subject prefix), the relay publishing, logs captured.
 */
export async function startReferralsStack(opts: { now?: Date } = {}): Promise<Stack> {
  const testDb: TestDatabase = await createTestDatabase();
  const { db } = createPgDb(testDb.url, { max: 12, applicationName: 'trm-test' });
  await migrate(db, { schema: 'registry', common: false });
  await migrate(db, { schema: REFERRALS_SCHEMA });
  await seedDemoOrganisations(db);

  const suffix = randomSuffix();
  const streamName = `TRM_TEST_${suffix}`;
  const subjectsPrefix = `trmtest${suffix}`;
  const bus = await connectJetStreamBus({ servers: natsUrl(), streamName, subjectsPrefix });

  const keyDir = await mkdtemp(path.join(os.tmpdir(), 'trm-keys-'));
  const devKey = await loadOrCreateDevKey(keyDir);
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const clock = { now: opts.now ?? new Date() };
  const metrics = createMetricsRegistry();
  const orgs = createOrgDirectory(db, { schema: 'registry', cacheTtlMs: 0 });
  const store = createEventStore({ schema: REFERRALS_SCHEMA });
  const app = await createApp({
    logger: { level: 'info', stream } as never,
    auth: { jwks: { keys: devJwks(devKey).keys }, issuer: ISSUER, audience: AUDIENCE },
    orgs,
    metrics,
    rateLimit: { max: 100_000, timeWindowMs: 60_000 },
    openapi: { title: 'test', version: '0' },
  });
  const relay = await startRelay({ db, store, schema: REFERRALS_SCHEMA, service: 'referrals', bus, listen: testDb.url, metrics, pollMs: 200 });
  const ctx = createReferralsContext({
    db,
    store,
    orgs,
    vault: createVault({ schema: REFERRALS_SCHEMA, masterKeys: `test-1:${generateMasterKey()}` }),
    clock: () => clock.now,
    onCommitted: () => relay.wake(),
  });
  await app.register(registryRoutes, { db, schema: 'registry' });
  await app.register(referralsService, ctx);
  await app.ready();

  return {
    app,
    db,
    bus,
    relay,
    logs,
    streamName,
    subjectsPrefix,
    clock,
    token: (org, roles, extra = {}) =>
      signToken(devKey, {
        org,
        orgType: (extra.orgType ?? DEMO_ORGANISATION_TYPES[org] ?? 'ngo') as OrgType,
        roles,
        sub: extra.sub ?? `user-of-${org}`,
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
    async close() {
      await app.close();
      await relay.stop();
      await bus.deleteStream().catch(() => {});
      await bus.close();
      await db.destroy();
      await testDb.drop();
      await rm(keyDir, { recursive: true, force: true });
    },
  };
}

/** A valid notification; tests override what they exercise. */
export function notification(overrides: Record<string, unknown> = {}) {
  return {
    situation: 'identified_by_international_ngo',
    countryOfIdentification: 'IT',
    countryOfExploitation: 'IT',
    identificationDate: '2026-11-18',
    formsOfExploitation: ['forced_labour'],
    sex: 'female',
    age: 24,
    citizenship: 'RO',
    traffickedAcrossBorders: true,
    recruiterRelation: 'friend_or_acquaintance',
    returnWanted: true,
    plannedReturnDate: '2026-12-10',
    person: { givenName: 'Ana', familyName: 'Example' },
    ...overrides,
  };
}
