import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MerkleTree, fromHex } from '@trm/audit';
import type { EventEnvelope } from '@trm/contracts';
import { type Db, createPgDb, migrate } from '@trm/db';
import { computeEventHash } from '@trm/event-store';
import { type TestDatabase, createTestDatabase } from '@trm/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEntries, latestHead, readLeafHashes } from '../repositories/ledger.repository.js';
import { loadKeyring, rotateKeyFile } from '../signing/signing-keys.js';
import { startTreeHeadSigner } from '../signing/tree-head.signer.js';
import { TreeCache, backfillTreeNodes } from './tree-cache.js';

/** Issue 15, finding 4: the tree lives in PostgreSQL, and a replica never signs over leaves the database lost. */

let tdb: TestDatabase;
let db: Db;
let keyDir: string;
const SCHEMA = 'ledger';

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = createPgDb(tdb.url, { max: 4, applicationName: 'trm-test-ledger-tree' }).db;
  await migrate(db, { schema: SCHEMA, service: 'ledger' });
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'trm-ledger-tree-'));
});
afterAll(async () => {
  await db?.destroy();
  await tdb?.drop();
  if (keyDir) await rm(keyDir, { recursive: true, force: true });
});

/** `n` more chained events of one stream (a new stream each call). */
function stream(n: number, tag: string): EventEnvelope[] {
  const streamId = `case-${randomUUID()}`;
  let prev: string | null = null;
  return Array.from({ length: n }, (_, i) => {
    const e = {
      service: 'referrals' as const,
      eventId: randomUUID(),
      type: 'CaseNoted',
      schemaVersion: 1,
      streamId,
      streamVersion: i + 1,
      globalPosition: String(i + 1),
      transactionId: '1',
      data: { caseId: streamId, tag },
      metadata: { actor: 'system', organisation: 'anitp', correlationId: randomUUID(), causationId: null, requestId: null },
      recordedAt: '2026-12-04T10:00:00.000Z',
      prevHash: prev,
      hash: '',
    };
    e.hash = computeEventHash(prev, e);
    prev = e.hash;
    return e;
  });
}

async function append(events: EventEnvelope[]): Promise<void> {
  for (let i = 0; i < events.length; i += 200) await db.transaction().execute((tx) => appendEntries(tx, SCHEMA, events.slice(i, i + 200)));
}

async function memoryTree(): Promise<MerkleTree> {
  const t = new MerkleTree();
  for (;;) {
    const leaves = await readLeafHashes(db, SCHEMA, t.size, 5000);
    for (const l of leaves) t.append(fromHex(l));
    if (leaves.length < 5000) return t;
  }
}

describe('the tree in PostgreSQL (issue 15, finding 4)', () => {
  it('gives the roots and proofs of the RFC 9162 tree of the stored leaves, for any size, from a fresh replica', async () => {
    await append(stream(70_000 % 1000 + 700, 'a'));
    const reference = await memoryTree();
    const n = reference.size;
    // A fresh replica: nothing to rebuild before it answers.
    const tree = new TreeCache(db, SCHEMA);
    expect(await tree.sync()).toBe(n);
    for (const size of [0, 1, 2, 255, 256, 257, 511, 512, 513, n - 1, n]) {
      expect((await tree.root(size)).toString('hex'), `root(${size})`).toBe(reference.root(size).toString('hex'));
    }
    for (const [i, size] of [[0, 1], [5, 256], [255, 256], [256, 257], [300, 700], [n - 1, n], [0, n]] as const) {
      expect((await tree.inclusionProof(i, size)).map((h) => h.toString('hex')), `inclusion(${i}, ${size})`).toEqual(reference.inclusionProof(i, size).map((h) => h.toString('hex')));
    }
    for (const [a, b] of [[1, 2], [255, 256], [256, 700], [3, n], [n - 1, n], [0, n]] as const) {
      expect((await tree.consistencyProof(a, b)).map((h) => h.toString('hex')), `consistency(${a}, ${b})`).toEqual(reference.consistencyProof(a, b).map((h) => h.toString('hex')));
    }
    // Hash tiles: level 0 holds the leaves, level 1 the roots of the complete 256-leaf subtrees.
    expect(await tree.levelHashes(0, 256, 3)).toEqual(Buffer.concat([reference.leaf(256), reference.leaf(257), reference.leaf(258)]));
    expect(await tree.levelHashes(8, 0, 1)).toEqual(reference.root(256));
    expect(await tree.levelSize(8)).toBe(Math.floor(n / 256));
  });

  it('serves a ledger older than tree_nodes (no stored subtree hashes) correctly, and backfills them once', async () => {
    const reference = await memoryTree();
    const n = reference.size;
    await db.transaction().execute(async (tx) => {
      await sql`alter table ${sql.table(`${SCHEMA}.tree_nodes`)} disable trigger user`.execute(tx);
      await sql`delete from ${sql.table(`${SCHEMA}.tree_nodes`)}`.execute(tx);
      await sql`alter table ${sql.table(`${SCHEMA}.tree_nodes`)} enable trigger user`.execute(tx);
    });
    const tree = new TreeCache(db, SCHEMA);
    expect((await tree.root(n)).equals(reference.root(n))).toBe(true);
    expect(await tree.levelHashes(8, 0, 1)).toEqual(reference.root(256));
    expect(await backfillTreeNodes(db, SCHEMA)).toBe(n);
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(`${SCHEMA}.tree_nodes`)}`.execute(db);
    expect(Number(rows[0]!.n)).toBe(Math.floor(n / 256));
    expect(await backfillTreeNodes(db, SCHEMA)).toBe(n % 256);
    expect((await tree.root(n)).equals(reference.root(n))).toBe(true);
  });

  it('refuses to sign a head over leaves the database no longer has (a rollback under a running replica)', async () => {
    const keyFile = path.join(keyDir, 'keys.json');
    await rotateKeyFile(keyFile);
    const keys = await loadKeyring(keyFile);
    const tree = new TreeCache(db, SCHEMA);
    const errors: unknown[] = [];
    const signer = startTreeHeadSigner({
      db,
      schema: SCHEMA,
      tree,
      keys,
      origin: 'trm.test/ledger',
      policy: { intervalMs: 3_600_000, everyEntries: 1 },
      clock: () => new Date(),
      onError: (err) => errors.push(err),
    });
    try {
      await append(stream(50, 'b'));
      // The start-up tick may be in flight: tick until a head covers what was appended.
      await signer.tick();
      await signer.tick();
      const signed = await latestHead(db, SCHEMA);
      const size = signed!.treeSize;
      expect(size).toBeGreaterThanOrEqual(50);

      // The database is restored from a backup taken 40 entries earlier (heads included), then
      // different events arrive: the indexes the replica signed are reused for other leaves.
      await db.transaction().execute(async (tx) => {
        for (const table of ['ledger_entries', 'tree_heads', 'checkpoints']) await sql`alter table ${sql.table(`${SCHEMA}.${table}`)} disable trigger user`.execute(tx);
        await sql`delete from ${sql.table(`${SCHEMA}.checkpoints`)}`.execute(tx);
        await sql`delete from ${sql.table(`${SCHEMA}.tree_heads`)}`.execute(tx);
        await sql`delete from ${sql.table(`${SCHEMA}.ledger_entries`)} where ledger_index >= ${size - 40}`.execute(tx);
        const { rows } = await sql<{ t: string | null }>`select to_regclass(${`${SCHEMA}.tree_nodes`})::text as t`.execute(tx);
        if (rows[0]!.t) {
          await sql`alter table ${sql.table(`${SCHEMA}.tree_nodes`)} disable trigger user`.execute(tx);
          await sql`delete from ${sql.table(`${SCHEMA}.tree_nodes`)} where (idx + 1) * (1::bigint << level) > ${size - 40}`.execute(tx);
          await sql`alter table ${sql.table(`${SCHEMA}.tree_nodes`)} enable trigger user`.execute(tx);
        }
        await sql`update ${sql.table(`${SCHEMA}.ledger_counter`)} set next_index = ${size - 40}`.execute(tx);
        for (const table of ['ledger_entries', 'tree_heads', 'checkpoints']) await sql`alter table ${sql.table(`${SCHEMA}.${table}`)} enable trigger user`.execute(tx);
      });
      await append(stream(60, 'c'));

      await expect(signer.tick()).rejects.toThrow(/no longer holds/);
      expect(await latestHead(db, SCHEMA)).toBeUndefined();
    } finally {
      await signer.stop();
    }
  });
});
