import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connectJetStreamBus } from '@trm/bus';
import { createPgDb, migrate } from '@trm/db';
import { devJwks, loadOrCreateDevKey, seedDemoOrganisations, signToken } from '@trm/platform';
import { createTestDatabase, natsUrl, randomSuffix, type TestDatabase } from '@trm/testing';
import { generateMasterKey } from '@trm/vault';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notification } from './support/stack.js';

const MAIN = path.resolve('services/referrals/dist/main.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });
}

async function waitReady(base: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}:\n${output()}`);
    const ok = await fetch(`${base}/health/ready`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`service not ready after 60 s:\n${output()}`);
}

let testDb: TestDatabase;
let dir: string;
const children: ChildProcess[] = [];
const suffix = randomSuffix();
const streamName = `TRM_DIST_${suffix}`;
const subjectsPrefix = `trmdist${suffix}`;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (make test runs \`tsc -b\` before the tests)`);
  testDb = await createTestDatabase();
  dir = await mkdtemp(path.join(os.tmpdir(), 'trm-dist-'));
  const { db } = createPgDb(testDb.url, { max: 2 });
  await migrate(db, { schema: 'registry', common: false });
  await seedDemoOrganisations(db);
  await db.destroy();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  const bus = await connectJetStreamBus({ servers: natsUrl(), streamName, subjectsPrefix }).catch(() => undefined);
  await bus?.deleteStream().catch(() => {});
  await bus?.close();
  await testDb?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('node services/referrals/dist/main.js (distributed mode)', () => {
  it('refuses to start with NODE_ENV=production on development settings, naming each, and exits 2', async () => {
    const { JWT_ISSUER: _i, JWT_AUDIENCE: _a, ...inherited } = process.env;
    const child = spawn(process.execPath, [MAIN], {
      env: {
        ...inherited,
        NODE_ENV: 'production',
        DATABASE_URL: testDb.url,
        NATS_URL: natsUrl(),
        JWKS_URL: 'http://idp.example/jwks',
        TRM_MASTER_KEYS: `dist-1:${generateMasterKey()}`,
        PORT: String(await freePort()),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('NODE_ENV=production refuses to start with:');
    expect(stderr).toContain('set JWT_ISSUER');
    expect(stderr).toContain('set JWT_AUDIENCE');
    expect(stderr).toContain('JWKS_URL that is not https://');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('runs as two replicas side by side, relays every event once, and shuts down cleanly on SIGTERM', async () => {
    const key = await loadOrCreateDevKey(dir);
    const jwksFile = path.join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(devJwks(key)));
    const env = {
      ...process.env,
      DATABASE_URL: testDb.url,
      NATS_URL: natsUrl(),
      NATS_STREAM: streamName,
      NATS_SUBJECT_PREFIX: subjectsPrefix,
      JWKS_FILE: jwksFile,
      JWT_ISSUER: 'trm-dist-test',
      JWT_AUDIENCE: 'trm',
      TRM_MASTER_KEYS: `dist-1:${generateMasterKey()}`,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // A local distributed run says so: the image's NODE_ENV=production would refuse nothing
      // here (a JWKS file, its own issuer and audience), but a developer's run must not depend on it.
      NODE_ENV: 'development',
    };
    const bases: string[] = [];
    const outputs: string[] = [];
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const child = spawn(process.execPath, [MAIN], { env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
      outputs[i] = '';
      child.stdout!.on('data', (d) => (outputs[i] += d));
      child.stderr!.on('data', (d) => (outputs[i] += d));
      children.push(child);
      bases.push(`http://127.0.0.1:${port}`);
    }
    for (let i = 0; i < 2; i++) await waitReady(bases[i]!, children[i]!, () => outputs[i]!);

    const token = await signToken(key, { org: 'ngo-it', orgType: 'ngo', roles: ['notifier', 'case_officer'], issuer: 'trm-dist-test', audience: 'trm' });
    const ids: string[] = [];
    for (let n = 0; n < 10; n++) {
      const res = await fetch(`${bases[n % 2]}/v1/cases`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(notification()),
      });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { caseId: string }).caseId);
    }
    // A case written through one replica is read through the other.
    const read = await fetch(`${bases[1]}/v1/cases/${ids[0]}`, { headers: { authorization: `Bearer ${token}` } });
    expect(read.status).toBe(200);

    const bus = await connectJetStreamBus({ servers: natsUrl(), streamName, subjectsPrefix });
    const seen = new Map<string, number>();
    const sub = await bus.consume({ durable: 'count', filterSubject: `${subjectsPrefix}.>`, maxDeliver: 1 }, async (d) => {
      seen.set(d.msgId, (seen.get(d.msgId) ?? 0) + 1);
      d.ack();
    });
    const deadline = Date.now() + 20_000;
    while (seen.size < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    await sub.stop();
    await bus.close();
    const { db } = createPgDb(testDb.url, { max: 1 });
    const { rows } = await sql<{ event_id: string }>`select event_id from referrals.events`.execute(db);
    await db.destroy();
    expect(rows).toHaveLength(10);
    expect([...seen.keys()].sort()).toEqual(rows.map((r) => r.event_id).sort());
    expect([...seen.values()].every((n) => n === 1)).toBe(true);

    for (const child of children) {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
