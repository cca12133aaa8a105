/**
 * Ledger benchmarks (issue 15): prints figures, asserts nothing.
 *
 *   node bench/dist/ledger.bench.js [--quick] [--verify-entries N] [--tree-leaves N]
 *
 * 1. The offline verifier (`verifyExport`, what `trm-audit verify` runs) over an NDJSON export of
 *    N entries with content (chained events over many streams) streamed from a file: entries/s and
 *    peak RSS (the stream check spills sorted runs, so memory stays bounded).
 * 2. The tree at the tile layer in PostgreSQL: N leaf hashes generated in SQL (not ingested
 *    events), their subtree hashes stored with `extendTreeNodes` in batches as the consumer
 *    does (append rate), then a fresh replica's start-up (first root), inclusion and consistency
 *    proof times, and RSS. Full run: 10,000,000 leaves; quick: 200,000.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { MerkleTree, entryLeafHash, exportLine, signTreeHead, verifyExport } from '@trm/audit';
import { createPgDb, migrate } from '@trm/db';
import { computeEventHash } from '@trm/event-store';
import { TreeCache, extendTreeNodes } from '@trm/ledger';
import { createTestDatabase } from '@trm/testing';
import { webcrypto } from 'node:crypto';
import { sql } from 'kysely';

const { values } = parseArgs({
  options: { quick: { type: 'boolean' }, 'verify-entries': { type: 'string' }, 'tree-leaves': { type: 'string' } },
});
const quick = values.quick ?? false;
const verifyEntries = Number(values['verify-entries'] ?? (quick ? 100_000 : 1_000_000));
const treeLeaves = Number(values['tree-leaves'] ?? (quick ? 200_000 : 10_000_000));
const mb = (n: number) => Math.round(n / 1e5) / 10;
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
sampler.unref();

async function benchVerifier(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trm-ledger-bench-'));
  try {
    const file = path.join(dir, 'export.ndjson');
    const out = createWriteStream(file);
    const tree = new MerkleTree();
    const streams = Math.max(1, Math.floor(verifyEntries / 10));
    const last = new Map<number, { v: number; hash: string | null }>();
    for (let i = 0; i < verifyEntries; i++) {
      const s = (i * 7919) % streams;
      const prev = last.get(s) ?? { v: 0, hash: null };
      const fields = {
        eventId: `0190a000-0000-7000-8000-${String(100000000000 + i)}`,
        streamId: `case-${s}`,
        streamVersion: prev.v + 1,
        type: 'CaseNoted',
        schemaVersion: 1,
        data: { caseId: `case-${s}`, n: i },
        metadata: { actor: 'system', organisation: 'anitp', correlationId: `c-${i}`, causationId: null, requestId: null },
        recordedAt: '2026-12-04T10:00:00.000Z',
      };
      const hash = computeEventHash(prev.hash, fields);
      last.set(s, { v: fields.streamVersion, hash });
      const event = { service: 'referrals' as const, ...fields, globalPosition: String(i + 1), transactionId: String(i + 1), prevHash: prev.hash, hash };
      const leaf = entryLeafHash({ index: i, event });
      tree.append(leaf);
      if (!out.write(`${exportLine({ index: i, event }, leaf)}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(() => r()));
    last.clear();
    const { privateKey, publicKey } = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const head = await signTreeHead({ treeSize: verifyEntries, timestamp: Date.now(), rootHash: tree.root().toString('hex') }, { kid: 'bench', privateKey: privateKey as never });
    const jwks = { keys: [{ ...(await webcrypto.subtle.exportKey('jwk', publicKey)), kid: 'bench', alg: 'EdDSA', use: 'sig' }] as never[] };
    if (global.gc) global.gc();
    peakRss = process.memoryUsage().rss;
    const before = peakRss;
    const t0 = performance.now();
    const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
    const result = await verifyExport(lines, { head, jwks });
    const ms = performance.now() - t0;
    console.log(
      JSON.stringify({
        bench: 'verifier',
        entries: verifyEntries,
        streams,
        ok: result.ok,
        seconds: Math.round(ms) / 1000,
        entries_per_s: Math.round((verifyEntries * 1000) / ms),
        rss_before_mb: mb(before),
        rss_peak_mb: mb(peakRss),
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchTree(): Promise<void> {
  const tdb = await createTestDatabase();
  const { db } = createPgDb(tdb.url, { max: 2, applicationName: 'trm-bench-ledger-tree' });
  try {
    await migrate(db, { schema: 'ledger', service: 'ledger' });
    const batch = 100_000;
    const t0 = performance.now();
    for (let from = 0; from < treeLeaves; from += batch) {
      const to = Math.min(treeLeaves, from + batch);
      await db.transaction().execute(async (tx) => {
        // Leaf hashes generated (sha256 of the index), not ingested events: the tile layer alone.
        await sql`insert into ledger.ledger_entries (ledger_index, event_id, service, stream_id, stream_version, event_type, case_id, recorded_at, event, leaf_hash)
          select i, md5(i::text)::uuid, 'bench', 's', 1, 'Bench', null, now(), '{}', encode(sha256(int8send(i)), 'hex')
          from generate_series(${from}::bigint, ${to - 1}::bigint) as i`.execute(tx);
        await sql`update ledger.ledger_counter set next_index = ${to}::bigint`.execute(tx);
        await extendTreeNodes(tx, 'ledger', from, to);
      });
      if (from % 1_000_000 === 0) process.stderr.write(`tree: ${to} leaves\n`);
    }
    const appendMs = performance.now() - t0;
    const s0 = performance.now();
    const tree = new TreeCache(db, 'ledger');
    const size = await tree.sync();
    const root = await tree.root(size);
    const startMs = performance.now() - s0;
    const samples = 100;
    const p0 = performance.now();
    for (let k = 0; k < samples; k++) await tree.inclusionProof(Math.floor((k * size) / samples), size);
    const inclusionMs = (performance.now() - p0) / samples;
    const c0 = performance.now();
    for (let k = 1; k <= samples; k++) await tree.consistencyProof(Math.floor((k * size) / (samples + 1)), size);
    const consistencyMs = (performance.now() - c0) / samples;
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from ledger.tree_nodes`.execute(db);
    console.log(
      JSON.stringify({
        bench: 'tree-tiles',
        leaves: size,
        stored_subtree_hashes: Number(rows[0]!.n),
        root: root.toString('hex'),
        append_seconds: Math.round(appendMs) / 1000,
        append_leaves_per_s: Math.round((size * 1000) / appendMs),
        fresh_replica_first_root_ms: Math.round(startMs * 10) / 10,
        inclusion_proof_ms: Math.round(inclusionMs * 100) / 100,
        consistency_proof_ms: Math.round(consistencyMs * 100) / 100,
        rss_peak_mb: mb(peakRss),
      }),
    );
  } finally {
    await db.destroy();
    await tdb.drop();
  }
}

await benchVerifier();
await benchTree();
clearInterval(sampler);
