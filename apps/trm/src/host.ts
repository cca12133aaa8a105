import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InProcessBus, startRelay, type Relay } from '@trm/bus';
import { createPgliteDb, migrate, type Db } from '@trm/db';
import { createEventStore } from '@trm/event-store';
import {
  createApp,
  createMetricsRegistry,
  createOrgDirectory,
  devJwks,
  loadOrCreateDevKey,
  registryRoutes,
  seedDemoOrganisations,
} from '@trm/platform';
import { REFERRALS_SCHEMA, createReferralsContext, referralsService } from '@trm/referrals';
import { createVault, generateMasterKey } from '@trm/vault';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from './config.js';

/** Schemas of the services hosted here, in migration order (the registry first). */
export const SCHEMAS = ['registry', REFERRALS_SCHEMA] as const;

export interface EmbeddedHost {
  app: FastifyInstance;
  db: Db;
  relays: Relay[];
  close(): Promise<void>;
}

/**
 * The master key of the vault in embedded mode: generated on first start into the data folder
 * (mode 0600). Distributed deployments pass TRM_MASTER_KEYS instead.
 */
async function embeddedMasterKeys(config: AppConfig): Promise<string> {
  if (config.TRM_MASTER_KEYS) return config.TRM_MASTER_KEYS;
  const file = path.join(config.dataDir, 'master-keys');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const ring = `embedded-1:${generateMasterKey()}`;
    await writeFile(file, `${ring}\n`, { mode: 0o600, flag: 'wx' });
    return ring;
  }
}

/**
 * Every service in one process on PGlite with the in-process bus: what `make run` starts.
 * `dataDir: undefined` keeps the database in memory (tests, OpenAPI generation).
 */
export async function createEmbeddedHost(config: AppConfig, opts: { inMemory?: boolean } = {}): Promise<EmbeddedHost> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const { db } = await createPgliteDb(opts.inMemory ? undefined : path.join(config.dataDir, 'pglite'));
  for (const schema of SCHEMAS) await migrate(db, { schema, common: schema !== 'registry' });
  await seedDemoOrganisations(db);

  const devKey = await loadOrCreateDevKey(config.dataDir);
  const orgs = createOrgDirectory(db, { schema: 'registry' });
  const bus = new InProcessBus();
  const relays: Relay[] = [];
  const store = createEventStore({ schema: REFERRALS_SCHEMA, onAppended: () => relays.forEach((r) => r.wake()) });

  const metrics = createMetricsRegistry();
  const app = await createApp({
    metrics,
    logger: config.LOG_LEVEL === 'silent' ? false : { level: config.LOG_LEVEL },
    auth: {
      jwks: config.JWKS_URL ? { url: config.JWKS_URL } : config.JWKS_FILE ? { file: config.JWKS_FILE } : { keys: devJwks(devKey).keys },
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    },
    orgs,
    readiness: [{ name: 'database', check: async () => void (await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute()) }],
    rateLimit: { max: config.RATE_LIMIT_PER_MINUTE, timeWindowMs: 60_000 },
    openapi: {
      title: 'TRM — Transnational Referral Mechanism API',
      version: '0.1.0',
      description: 'One shared, verifiable record of each trafficking case across organisations and countries.',
    },
  });

  const ctx = createReferralsContext({
    db,
    store,
    orgs,
    vault: createVault({ schema: REFERRALS_SCHEMA, masterKeys: await embeddedMasterKeys(config) }),
    policy: config.policy,
    onCommitted: () => relays.forEach((r) => r.wake()),
  });
  await app.register(registryRoutes, { db, schema: 'registry' });
  await app.register(referralsService, ctx);
  relays.push(await startRelay({ db, store, schema: REFERRALS_SCHEMA, service: 'referrals', bus, logger: app.log, metrics }));

  app.addHook('preClose', async () => {
    await Promise.all(relays.map((r) => r.stop()));
  });
  app.addHook('onClose', async () => {
    await bus.close();
    await db.destroy();
  });
  return { app, db, relays, close: () => app.close() };
}
