import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { connectJetStreamBus, type JetStreamBus } from '@trm/bus';
import { createPgDb, type Db } from '@trm/db';
import { rotateKeyFile } from '@trm/ledger';
import { type App, type AuthOptions, type DevKey, devJwks, loadOrCreateDevKey, signToken, type OrgType, type Role } from '@trm/platform';
import { buildHost, loadHostConfig, REGISTRY_SCHEMA, type ServiceModule } from '@trm/runtime';
import { createTestDatabase, natsUrl, randomSuffix, type TestDatabase } from '@trm/testing';
import { generateMasterKey } from '@trm/vault';
import { sql } from 'kysely';
import { DEMO_ORGANISATION_TYPES } from '../../../apps/trm/src/demo.js';
import { MODULES } from '../../../apps/trm/src/modules.js';

export const ISSUER = 'trm-security-test';
export const AUDIENCE = 'trm';

export interface SecurityStack {
  app: App;
  db: Db;
  bus: JetStreamBus;
  modules: readonly ServiceModule[];
  /** The signing key the stack trusts unless `auth` replaced it. */
  key: DevKey;
  masterKeys: string;
  database: TestDatabase;
  logs: string[];
  subjectsPrefix: string;
  clock: { now: Date };
  token(org: string, roles: Role[], extra?: { orgType?: OrgType; sub?: string }): Promise<string>;
  /** Registers an organisation straight in the registry (tokens naming it then work). */
  registerOrganisation(org: { id: string; type: OrgType; country: string; parentId?: string | null }): Promise<void>;
  close(opts?: { keepDatabase?: boolean }): Promise<void>;
}

/**
 * The whole composed API as `make run` serves it (every module of MODULES, so a service added
 * later is attacked too), on real PostgreSQL and JetStream, logs captured. `auth` replaces the
 * trusted keys (JWKS file or URL) for the token attacks; `env` sets limits and policies.
 */
export async function startSecurityStack(
  opts: {
    modules?: readonly ServiceModule[];
    env?: Record<string, string>;
    auth?: (key: DevKey) => AuthOptions;
    now?: Date;
    masterKeys?: string;
    /** Start on the database a previous stack left behind (its `keepDatabase` close). */
    database?: TestDatabase;
  } = {},
): Promise<SecurityStack> {
  const modules = opts.modules ?? MODULES;
  const testDb: TestDatabase = opts.database ?? (await createTestDatabase());
  const { db } = createPgDb(testDb.url, { max: 12, applicationName: 'trm-security-test' });
  const suffix = randomSuffix();
  const subjectsPrefix = `trmsec${suffix}`;
  const bus = await connectJetStreamBus({ servers: natsUrl(), streamName: `TRM_SEC_${suffix}`, subjectsPrefix });
  const keyDir = await mkdtemp(path.join(os.tmpdir(), 'trm-sec-'));
  const key = await loadOrCreateDevKey(keyDir);
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const clock = { now: opts.now ?? new Date() };
  // Distributed mode asks each service for its own keys, as production does.
  const ledgerKeys = path.join(keyDir, 'ledger-keys.json');
  await rotateKeyFile(ledgerKeys);
  // Heads every second: tests wait for them, and the 10 s policy would only slow the waits.
  const env = { LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '1000000', TRM_DATA_DIR: keyDir, LEDGER_SIGNING_KEY_FILE: ledgerKeys, LEDGER_SIGN_INTERVAL_SECONDS: '1', ...opts.env };
  const masterKeys = opts.masterKeys ?? `sec-1:${generateMasterKey()}`;
  const host = await buildHost({
    mode: 'distributed',
    modules,
    config: loadHostConfig(env),
    db,
    bus,
    auth: opts.auth?.(key) ?? { jwks: { keys: devJwks(key).keys }, issuer: ISSUER, audience: AUDIENCE },
    masterKeys,
    env,

    seedDemoOrganisations: true,
    logger: { level: 'info', stream } as never,
    clock: () => clock.now,
    relayPollMs: 200,
  });
  await host.app.ready();
  const orgTypes: Record<string, string> = { ...DEMO_ORGANISATION_TYPES };

  return {
    app: host.app,
    db,
    bus,
    modules,
    key,
    masterKeys,
    database: testDb,
    logs,
    subjectsPrefix,
    clock,
    token: (org, roles, extra = {}) =>
      signToken(key, {
        org,
        orgType: (extra.orgType ?? orgTypes[org] ?? 'ngo') as OrgType,
        roles,
        sub: extra.sub ?? `user-of-${org}`,
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
    async registerOrganisation(org) {
      await db
        .withSchema(REGISTRY_SCHEMA)
        .insertInto('organisations')
        .values({ id: org.id, type: org.type, country: org.country, name: `Test ${org.id}`, parent_id: org.parentId ?? null, active: true })
        .execute();
      orgTypes[org.id] = org.type;
    },
    async close(closing = {}) {
      await bus.deleteStream().catch(() => {});
      await host.close();
      if (!closing.keepDatabase) await testDb.drop();
      await rm(keyDir, { recursive: true, force: true });
    },
  };
}

/** Every schema holding an event store (one per service), found in the database, not listed by hand. */
export async function eventSchemas(db: Db): Promise<string[]> {
  const { rows } = await sql<{ schema: string }>`
    select table_schema as schema from information_schema.tables
    where table_name = 'events' and table_type = 'BASE TABLE' order by 1`.execute(db);
  return rows.map((r) => r.schema);
}

/** Events per schema: what "nothing was written" is measured with. */
export async function eventCounts(db: Db): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const schema of await eventSchemas(db)) {
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.id(schema, 'events')}`.execute(db);
    counts[schema] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

/** Waits until no service appends events any more (consumers and the ledger have caught up). */
export async function quiescentEventCounts(db: Db, timeoutMs = 30_000): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  let last = JSON.stringify(await eventCounts(db));
  for (;;) {
    await new Promise((r) => setTimeout(r, 400));
    const now = await eventCounts(db);
    const text = JSON.stringify(now);
    if (text === last) return now;
    if (Date.now() > deadline) throw new Error('events kept being appended: the stack never became quiet');
    last = text;
  }
}

/** Every row of every table of every schema (but the registry), as text, for scanning. */
export async function dumpDatabase(db: Db, opts: { exceptTables?: string[] } = {}): Promise<Map<string, string>> {
  const { rows: tables } = await sql<{ schema: string; table: string }>`
    select table_schema as schema, table_name as table from information_schema.tables
    where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema', ${REGISTRY_SCHEMA})
    order by 1, 2`.execute(db);
  const out = new Map<string, string>();
  for (const { schema, table } of tables) {
    if (opts.exceptTables?.includes(table)) continue;
    const { rows } = await sql<{ row: string }>`select t::text as row from ${sql.id(schema, table)} t`.execute(db);
    out.set(`${schema}.${table}`, rows.map((r) => r.row).join('\n'));
  }
  return out;
}

/** Every message on the stack's JetStream stream, read by a throw-away consumer. */
export async function natsMessages(stack: SecurityStack, atLeast: number, timeoutMs = 20_000): Promise<string[]> {
  const seen: string[] = [];
  const decoder = new TextDecoder();
  const sub = await stack.bus.consume(
    { durable: `scan-${randomBytes(3).toString('hex')}`, filterSubject: `${stack.subjectsPrefix}.>`, maxDeliver: 1 },
    async (d) => {
      seen.push(`${d.subject} ${decoder.decode(d.data)}`);
      d.ack();
    },
  );
  const deadline = Date.now() + timeoutMs;
  while (seen.length < atLeast && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // A little longer, so messages beyond the expected count are scanned too.
  await new Promise((r) => setTimeout(r, 300));
  await sub.stop();
  return seen;
}

/** Polls `probe` until it returns something, or fails naming what it waited for. */
export async function until<T>(what: string | (() => string), probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
