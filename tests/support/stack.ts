import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { connectJetStreamBus, type JetStreamBus, type Relay } from '@trm/bus';
import { createPgDb, type Db } from '@trm/db';
import { type App, devJwks, loadOrCreateDevKey, signToken, type OrgType, type Role } from '@trm/platform';
import { referralsModule } from '@trm/referrals';
import { buildHost, loadHostConfig, type ServiceModule } from '@trm/runtime';
import { createTestDatabase, natsUrl, randomSuffix, type TestDatabase } from '@trm/testing';
import { createVault, generateMasterKey } from '@trm/vault';
import { DEMO_ORGANISATION_TYPES } from '../../apps/trm/src/demo.js';

export const ISSUER = 'trm-test';
export const AUDIENCE = 'trm';

export interface Stack {
  app: App;
  db: Db;
  bus: JetStreamBus;
  /** The first module's relay. */
  relay: Relay;
  relays: Relay[];
  /** Every log line the app wrote, as text. */
  logs: string[];
  streamName: string;
  subjectsPrefix: string;
  token(org: string, roles: Role[], extra?: { orgType?: OrgType; sub?: string }): Promise<string>;
  clock: { now: Date };
  close(): Promise<void>;
}

/**
 * Services as they run in distributed mode (one host here, several modules allowed): real
 * PostgreSQL (a fresh database), real NATS JetStream (a fresh stream and subject prefix), the
 * relays publishing and the consumers consuming, logs captured. `env` sets policies.
 */
export async function startStack(opts: { modules: readonly ServiceModule[]; now?: Date; env?: Record<string, string> }): Promise<Stack> {
  const testDb: TestDatabase = await createTestDatabase();
  const { db } = createPgDb(testDb.url, { max: 12, applicationName: 'trm-test' });
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
  const env = { LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '100000', TRM_DATA_DIR: keyDir, ...opts.env };
  const host = await buildHost({
    mode: 'distributed',
    modules: opts.modules,
    config: loadHostConfig(env),
    db,
    bus,
    auth: { jwks: { keys: devJwks(devKey).keys }, issuer: ISSUER, audience: AUDIENCE },
    masterKeys: `test-1:${generateMasterKey()}`,
    env,

    seedDemoOrganisations: true,
    logger: { level: 'info', stream } as never,
    clock: () => clock.now,
    relayPollMs: 200,
  });
  await host.app.ready();

  return {
    app: host.app,
    db,
    bus,
    relay: host.relays[0]!,
    relays: host.relays,
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
      await bus.deleteStream().catch(() => {});
      await host.close();
      await testDb.drop();
      await rm(keyDir, { recursive: true, force: true });
    },
  };
}

export function startReferralsStack(opts: { now?: Date; env?: Record<string, string> } = {}): Promise<Stack> {
  return startStack({ modules: [referralsModule], ...opts });
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
