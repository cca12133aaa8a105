import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@trm/contracts';
import { computeEventHash } from '@trm/event-store';
import { type Db, createPgDb, migrate } from '@trm/db';
import { CompiledQuery } from 'kysely';
import { createTestDatabase, randomSuffix, reachable } from '@trm/testing';

export const SCHEMA = 'bus_test';

export async function setUpDatabase(poolSize = 10) {
  const database = await createTestDatabase('trm_bus');
  const { db } = createPgDb(database.url, { max: poolSize });
  await migrate(db, { schema: SCHEMA });
  return {
    url: database.url,
    db,
    async tearDown() {
      await db.destroy();
      await database.drop();
    },
  };
}

/** Stream name and subject prefix of one test file: parallel files never see each other's messages. */
export function randomStream() {
  const suffix = randomSuffix();
  return { streamName: `TRM_TEST_${suffix}`, subjectsPrefix: `trmtest${suffix}` };
}

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000, everyMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function count(db: Db, table: string, where = 'true'): Promise<number> {
  const { rows } = await db.executeQuery<{ n: number }>(CompiledQuery.raw(`select count(*)::int as n from ${SCHEMA}.${table} where ${where}`));
  return rows[0]!.n;
}

/** A well-formed envelope (its hash computed from its content) of version `streamVersion` of `streamId`. */
export function envelope(
  data: Record<string, unknown>,
  type = 'CaseNotified',
  at: { streamId?: string; streamVersion?: number; prevHash?: string | null } = {},
): EventEnvelope {
  const e: EventEnvelope = {
    service: 'referrals',
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    streamId: at.streamId ?? `case-${randomUUID()}`,
    streamVersion: at.streamVersion ?? 1,
    globalPosition: '1',
    transactionId: '1',
    data,
    metadata: { actor: 'system:test', organisation: 'org', correlationId: randomUUID(), causationId: null, requestId: null },
    recordedAt: new Date().toISOString(),
    prevHash: at.prevHash ?? ((at.streamVersion ?? 1) > 1 ? '0'.repeat(64) : null),
    hash: '',
  };
  e.hash = computeEventHash(e.prevHash, e);
  return e;
}

const NATS_SERVER = '/usr/sbin/nats-server';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A NATS server of our own, so killing it cannot disturb other test files. */
export async function startPrivateNats() {
  if (!existsSync(NATS_SERVER)) throw new Error(`${NATS_SERVER} is missing: install nats-server (apt-get install nats-server) to run this test`);
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trm-nats-'));
  const url = `nats://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
    await waitFor(`nats-server on port ${port}`, () => reachable(url, port, 200), 10_000);
  };
  const kill = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url,
    start,
    kill,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
