import {
  type Bus,
  type ConsumerSubscription,
  type Relay,
  type doctor,
  assertTransactionIdsAhead,
  pruneInbox,
  relaySignal,
  sameDatabaseSource,
  startRelay,
} from '@trm/bus';
import { type Db, migrate } from '@trm/db';
import { createEventStore } from '@trm/event-store';
import {
  type App,
  type AuthOptions,
  createApp,
  createMetricsRegistry,
  createOrgDirectory,
  IDEMPOTENCY_RETENTION_MS,
  purgeIdempotencyKeys,
  seedDemoOrganisations,
} from '@trm/platform';
import type { LoggerOptions } from 'pino';
import { assertProductionSafe, type HostConfig } from './config.js';
import { observeConsumers, registerOperatorBusRoutes } from './operator-bus.js';
import type { MountedService, ServiceModule } from './service-module.js';

export const REGISTRY_SCHEMA = 'registry';

export interface BuildHostOptions {
  mode: 'embedded' | 'distributed';
  modules: readonly ServiceModule[];
  config: HostConfig;
  db: Db;
  bus: Bus;
  auth: AuthOptions;
  masterKeys: string;
  env: NodeJS.ProcessEnv;
  seedDemoOrganisations?: boolean;
  /** The tokens are verified with the development signing key (refused with NODE_ENV=production). */
  devSigningKey?: boolean;
  logger?: LoggerOptions | false;
  clock?: () => Date;
  /** Relay poll interval (the commit signal normally makes it react at once). */
  relayPollMs?: number;
  openapi?: { title: string; version: string; description?: string };
}

export interface Host {
  app: App;
  db: Db;
  bus: Bus;
  relays: Relay[];
  close(): Promise<void>;
}

/** Migrates the registry and every module's schema, in order. */
export async function migrateAll(db: Db, modules: readonly ServiceModule[]): Promise<Record<string, string[]>> {
  const applied: Record<string, string[]> = {};
  applied[REGISTRY_SCHEMA] = await migrate(db, { schema: REGISTRY_SCHEMA, common: false });
  for (const m of modules) applied[m.schema] = await migrate(db, { schema: m.schema, service: m.name });
  return applied;
}

/**
 * Builds the HTTP app, mounts every service (routes and consumers), then starts one relay per
 * service. Shutdown order (STYLE.md): preClose stops schedulers, consumers and relays while
 * in-flight requests finish; onClose closes the bus and the database.
 */
export async function buildHost(opts: BuildHostOptions): Promise<Host> {
  const { db, bus, config } = opts;
  assertProductionSafe(config, opts.env, { devSigningKey: opts.devSigningKey, demoOrganisations: opts.seedDemoOrganisations });
  await migrateAll(db, opts.modules);
  // A database restored from a logical dump into another cluster would never publish again.
  for (const m of opts.modules) await assertTransactionIdsAhead(db, m.schema);
  if (opts.seedDemoOrganisations) await seedDemoOrganisations(db, REGISTRY_SCHEMA);

  const metrics = createMetricsRegistry();
  const orgs = createOrgDirectory(db, { schema: REGISTRY_SCHEMA });
  const app = await createApp({
    logger: opts.logger ?? (config.LOG_LEVEL === 'silent' ? false : { level: config.LOG_LEVEL }),
    auth: opts.auth,
    orgs,
    metrics,
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    ...(config.TRUST_PROXY ? { trustProxy: config.TRUST_PROXY === 'true' ? true : config.TRUST_PROXY.split(',').map((a) => a.trim()) } : {}),
    pressure:
      config.PRESSURE_MAX_EVENT_LOOP_DELAY_MS === 0 && config.PRESSURE_MAX_HEAP_BYTES === 0
        ? false
        : { maxEventLoopDelayMs: config.PRESSURE_MAX_EVENT_LOOP_DELAY_MS, maxHeapUsedBytes: config.PRESSURE_MAX_HEAP_BYTES },
    rateLimit: { max: config.RATE_LIMIT_PER_MINUTE, timeWindowMs: 60_000 },
    registryOperators: config.TRM_REGISTRY_OPERATORS,
    readiness: [
      { name: 'database', check: async () => void (await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute()) },
      {
        name: 'bus',
        check: async () => {
          if (!(await bus.ready())) throw new Error('bus not connected');
        },
      },
      {
        // A consumer whose every delivery has failed for a while (its database away, a stream
        // it cannot read) is not serving: take the replica out of rotation and say which.
        name: 'consumers',
        check: async () => {
          const failing = mounted
            .flatMap((m) => m.consumers ?? [])
            .map((c) => (c as Partial<ConsumerSubscription>).health?.())
            .filter((h) => h?.unhealthy);
          if (failing.length > 0) throw new Error(`failing: ${failing.map((h) => h!.consumer).join(', ')}`);
        },
      },
    ],
    openapi: opts.openapi ?? {
      title: 'TRM — Transnational Referral Mechanism API',
      version: '0.1.0',
      description: 'One shared, verifiable record of each trafficking case across organisations and countries.',
    },
  });

  const mounted: MountedService[] = [];
  const relays: Relay[] = [];
  const relayOf = new Map<string, Relay>();
  // After a commit that appended events, wake the schema's active relay. When it runs in this
  // process it is woken directly; otherwise it runs in another replica (or none leads right now)
  // and the wake-up goes through the bus. A wake-up that gets lost as the lead moves is covered by
  // the relay's poll, and a new leader reads from the checkpoint anyway.
  const committedTo = (schema: string) => () => {
    const local = relayOf.get(schema);
    if (local?.isLeader()) local.wake();
    else bus.signal(relaySignal(schema));
  };
  const clock = opts.clock ?? (() => new Date());
  // Consumers read the events themselves from their sources' tables in this database (see EventSource).
  const source = sameDatabaseSource();
  const stores = new Map<string, ReturnType<typeof createEventStore>>();
  // The consumers' durable names and filters, as the modules start them (for the bus doctor).
  const consumerSpecs: doctor.DoctorConsumer[] = [];
  for (const m of opts.modules) {
    const committed = committedTo(m.schema);
    const store = createEventStore({ schema: m.schema, onAppended: committed });
    stores.set(m.schema, store);
    mounted.push(
      await m.mount({ mode: opts.mode, app, db, bus: observeConsumers(bus, m.schema, consumerSpecs), orgs, metrics, masterKeys: m.keepsVault ? opts.masterKeys : '', env: opts.env, clock, store, committed, source }),
    );
  }
  for (const m of opts.modules) {
    const relay = await startRelay({
      db,
      store: stores.get(m.schema)!,
      schema: m.schema,
      service: m.name,
      bus,
      lease: { ttlMs: config.TRM_RELAY_LEASE_MS },
      ...(opts.relayPollMs ? { pollMs: opts.relayPollMs } : {}),
      logger: app.log,
      metrics,
    });
    relays.push(relay);
    relayOf.set(m.schema, relay);
  }
  // The bus doctor of this host, for the registry operator (npm run -s bus:doctor -- --url …).
  registerOperatorBusRoutes(app, {
    db,
    bus,
    services: opts.modules.map((m) => ({ service: m.name, schema: m.schema })),
    consumers: consumerSpecs,
    subscriptions: () => mounted.flatMap((m) => m.consumers ?? []),
    relayLeaseMs: config.TRM_RELAY_LEASE_MS,
  });

  // Stored answers to Idempotency-Key requests are kept IDEMPOTENCY_RETENTION_MS (24 h), then
  // purged; a retry after that runs the command again. Any replica may purge: deletes are idempotent.
  const purge = setInterval(() => {
    const cutoff = new Date(clock().getTime() - IDEMPOTENCY_RETENTION_MS);
    for (const schema of [REGISTRY_SCHEMA, ...opts.modules.map((m) => m.schema)]) {
      purgeIdempotencyKeys(db, schema, cutoff).catch((err: unknown) => app.log.warn({ err, schema }, 'idempotency purge failed'));
    }
    // Safe: duplicates are recognised by the consumers' stream positions, which are never pruned.
    const inboxCutoff = new Date(clock().getTime() - config.TRM_INBOX_RETENTION_HOURS * 3_600_000);
    for (const m of opts.modules) {
      pruneInbox(db, m.schema, inboxCutoff).catch((err: unknown) => app.log.warn({ err, schema: m.schema }, 'inbox pruning failed'));
    }
  }, 3_600_000);
  purge.unref();

  app.addHook('preClose', async () => {
    clearInterval(purge);
    await Promise.all(mounted.map((m) => m.stop?.()));
    await Promise.all(mounted.flatMap((m) => m.consumers ?? []).map((c) => c.stop()));
    await Promise.all(relays.map((r) => r.stop()));
  });
  app.addHook('onClose', async () => {
    await bus.close();
    await db.destroy();
  });
  return { app, db, bus, relays, close: () => app.close() };
}
