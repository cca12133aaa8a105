import { connectJetStreamBus, startRelay } from '@trm/bus';
import { createPgDb, migrate } from '@trm/db';
import { createEventStore } from '@trm/event-store';
import { createApp, createMetricsRegistry, createOrgDirectory, registryRoutes, serve } from '@trm/platform';
import { createVault } from '@trm/vault';
import { z } from 'zod';
import { REFERRALS_SCHEMA, createReferralsContext, referralsService } from './index.js';

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.string().default('info'),
  DATABASE_URL: z.string().url(),
  NATS_URL: z.string().min(1),
  NATS_STREAM: z.string().default('TRM'),
  NATS_SUBJECT_PREFIX: z.string().default('trm'),
  JWKS_URL: z.string().url().optional(),
  JWKS_FILE: z.string().optional(),
  JWT_ISSUER: z.string().min(1),
  JWT_AUDIENCE: z.string().min(1),
  TRM_MASTER_KEYS: z.string().min(1),
  TRM_HOME_NCP: z.string().default('anitp'),
  TRM_ACK_DAYS: z.coerce.number().positive().default(2),
});

export async function runDistributedService(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    process.stderr.write(`referrals: invalid configuration\n${lines.join('\n')}\n`);
    process.exit(2);
  }
  const e = parsed.data;
  if (!e.JWKS_URL && !e.JWKS_FILE) {
    process.stderr.write('referrals: set JWKS_URL or JWKS_FILE (the keys that sign partner tokens)\n');
    process.exit(2);
  }
  const { db } = createPgDb(e.DATABASE_URL, { max: 20, applicationName: 'trm-referrals' });
  await migrate(db, { schema: 'registry', common: false });
  await migrate(db, { schema: REFERRALS_SCHEMA });

  const bus = await connectJetStreamBus({ servers: e.NATS_URL, streamName: e.NATS_STREAM, subjectsPrefix: e.NATS_SUBJECT_PREFIX });
  const orgs = createOrgDirectory(db, { schema: 'registry' });
  const store = createEventStore({ schema: REFERRALS_SCHEMA });
  const metrics = createMetricsRegistry();
  const app = await createApp({
    metrics,
    logger: { level: e.LOG_LEVEL },
    auth: { jwks: e.JWKS_URL ? { url: e.JWKS_URL } : { file: e.JWKS_FILE! }, issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE },
    orgs,
    readiness: [
      { name: 'database', check: async () => void (await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute()) },
      { name: 'bus', check: async () => { if (!(await bus.ready())) throw new Error('NATS not connected'); } },
    ],
    openapi: { title: 'TRM referrals', version: '0.1.0' },
  });
  const relay = await startRelay({ db, store, schema: REFERRALS_SCHEMA, service: 'referrals', bus, listen: e.DATABASE_URL, logger: app.log, metrics });
  const ctx = createReferralsContext({
    db,
    store,
    orgs,
    vault: createVault({ schema: REFERRALS_SCHEMA, masterKeys: e.TRM_MASTER_KEYS }),
    policy: { acknowledgementDays: e.TRM_ACK_DAYS, homeNationalContactPoint: e.TRM_HOME_NCP },
    onCommitted: () => relay.wake(),
  });
  await app.register(registryRoutes, { db, schema: 'registry' });
  await app.register(referralsService, ctx);
  app.addHook('preClose', async () => relay.stop());
  app.addHook('onClose', async () => {
    await bus.close();
    await db.destroy();
  });
  await serve(app, { port: e.PORT, host: e.HOST });
}
