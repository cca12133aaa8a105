import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { type JWK, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '@trm/contracts';
import { computeEventHash } from '@trm/event-store';
import { entryLeafHash, exportLine } from './entry.js';
import { signTreeHead } from './head.js';
import { MerkleTree } from './merkle.js';
import { runCli } from './run-cli.js';
import { verifyExport } from './verify-export.js';

/** The auditor's tests of issue 15, finding 3: forks, skipped versions, named inclusion, bounded memory. */

let key: { kid: string; privateKey: CryptoKey };
let jwks: { keys: JWK[] };

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  key = { kid: 'ledger-1', privateKey: privateKey as CryptoKey };
  jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'ledger-1', alg: 'EdDSA', use: 'sig' }] };
});

let seq = 0;
function ev(streamId: string, version: number, prevHash: string | null, extra: Record<string, unknown> = {}): EventEnvelope {
  seq++;
  const fields = {
    eventId: `0190a000-0000-7000-8000-${String(200000000000 + seq)}`,
    streamId,
    streamVersion: version,
    type: 'CaseNoted',
    schemaVersion: 1,
    data: { caseId: streamId, ...extra },
    metadata: { actor: 'system', organisation: 'anitp', correlationId: `c-${seq}`, causationId: null, requestId: null },
    recordedAt: new Date(Date.UTC(2026, 10, 22, 10, 0, seq % 60)).toISOString(),
  };
  return { service: 'referrals', ...fields, globalPosition: String(seq), transactionId: String(seq), prevHash, hash: computeEventHash(prevHash, fields) };
}

/** Every export here is correctly indexed, leaf-hashed and signed: only the streams are wrong. */
async function signed(evs: EventEnvelope[]) {
  const tree = new MerkleTree();
  const lines = evs.map((event, index) => {
    const leaf = entryLeafHash({ index, event });
    tree.append(leaf);
    return exportLine({ index, event }, leaf);
  });
  const head = await signTreeHead({ treeSize: evs.length, timestamp: Date.UTC(2026, 10, 22, 12), rootHash: tree.root(evs.length).toString('hex') }, key);
  return { lines, head, tree };
}

describe('the verifier catches forks and skipped versions (issue 15, finding 3)', () => {
  it('fails an export with two version-3 entries of one stream, naming both', async () => {
    const a1 = ev('case-a', 1, null);
    const a2 = ev('case-a', 2, a1.hash);
    const a3 = ev('case-a', 3, a2.hash);
    // A fork: another version 3 following the same version 2 (a failover to a lagging standby).
    const a3bis = ev('case-a', 3, a2.hash, { other: true });
    const { lines, head } = await signed([a1, a2, ev('case-b', 1, null), a3, a3bis]);
    const result = await verifyExport(lines, { head, jwks });
    expect(result).toMatchObject({ ok: false, code: 'stream-fork' });
    if (result.ok) return;
    expect(result.message).toContain('entry 3');
    expect(result.message).toContain('entry 4');
    expect(result.message).toContain(a3.eventId);
    expect(result.message).toContain(a3bis.eventId);
  });

  it('fails an export whose stream skips a version, naming the entries on both sides of the gap', async () => {
    const a1 = ev('case-c', 1, null);
    const a2 = ev('case-c', 2, a1.hash);
    const a4 = ev('case-c', 4, 'ab'.repeat(32));
    const { lines, head } = await signed([a1, a2, a4]);
    const result = await verifyExport(lines, { head, jwks });
    expect(result).toMatchObject({ ok: false, code: 'stream-gap' });
    if (!result.ok) expect(result.message).toMatch(/entry 1 .*version 2.*entry 2 .*version 4/);
  });

  it('fails a stream that does not start at version 1', async () => {
    const { lines, head } = await signed([ev('case-d', 2, 'ab'.repeat(32))]);
    expect(await verifyExport(lines, { head, jwks })).toMatchObject({ ok: false, code: 'stream-gap' });
  });

  it('still fails a broken link whose versions are consecutive', async () => {
    const a1 = ev('case-e', 1, null);
    const { lines, head } = await signed([a1, ev('case-e', 2, 'cd'.repeat(32))]);
    expect(await verifyExport(lines, { head, jwks })).toMatchObject({ ok: false, code: 'stream-chain-broken', index: 1 });
  });

  it('checks streams in bounded memory: with a tiny budget (spilling sorted runs to disk) the verdicts are the same', async () => {
    const evs: EventEnvelope[] = [];
    const last = new Map<string, EventEnvelope>();
    for (let i = 0; i < 300; i++) {
      const s = `case-m${i % 37}`;
      const p = last.get(s);
      const e = ev(s, p ? p.streamVersion + 1 : 1, p ? p.hash : null);
      last.set(s, e);
      evs.push(e);
    }
    const good = await signed(evs);
    expect(await verifyExport(good.lines, { head: good.head, jwks, streamMemoryEntries: 16 })).toMatchObject({ ok: true, entries: 300 });
    const p = last.get('case-m5')!;
    const forked = await signed([...evs, ev('case-m5', p.streamVersion, p.prevHash, { fork: true })]);
    const result = await verifyExport(forked.lines, { head: forked.head, jwks, streamMemoryEntries: 16 });
    expect(result).toMatchObject({ ok: false, code: 'stream-fork' });
    if (!result.ok) expect(result.message).toContain(p.eventId);
  });
});

describe('trm-audit inclusion names the event it proves (issue 15, finding 3)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'trm-audit-incl-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function run(args: string[]) {
    const out: string[] = [];
    const code = await runCli(args, { stdout: (l) => out.push(l), stderr: new PassThrough(), stdin: new PassThrough() });
    return { code, out: out.join('\n') };
  }

  it('with the entry: names its index, event id, service, stream and version, and leaf hash', async () => {
    const a1 = ev('case-i', 1, null);
    const a2 = ev('case-i', 2, a1.hash);
    const { head, tree } = await signed([a1, a2, ev('case-j', 1, null)]);
    const proof = { index: 1, treeSize: 3, leafHash: tree.leaf(1).toString('hex'), auditPath: tree.inclusionProof(1, 3).map((h) => h.toString('hex')), entry: { index: 1, event: a2 } };
    const files = { proof: path.join(dir, 'p.json'), head: path.join(dir, 'h.json'), jwks: path.join(dir, 'k.json'), bare: path.join(dir, 'b.json') };
    await writeFile(files.proof, JSON.stringify(proof));
    await writeFile(files.head, JSON.stringify(head));
    await writeFile(files.jwks, JSON.stringify(jwks));
    const ok = await run(['inclusion', files.proof, '--head', files.head, '--jwks', files.jwks]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`entry 1`);
    expect(ok.out).toContain(a2.eventId);
    expect(ok.out).toContain('case-i');
    expect(ok.out).toContain('version 2');
    expect(ok.out).not.toMatch(/OK: the entry is included/);

    // Without the entry, only a leaf hash is proven: the output says so and names it.
    const { entry: _entry, ...bare } = proof;
    await writeFile(files.bare, JSON.stringify(bare));
    const leafOnly = await run(['inclusion', files.bare, '--head', files.head, '--jwks', files.jwks]);
    expect(leafOnly.code).toBe(0);
    expect(leafOnly.out).toContain(proof.leafHash);
    expect(leafOnly.out).toMatch(/no event/i);
    expect(leafOnly.out).not.toMatch(/OK: the entry is included/);
  });
});

describe("the verifier's fast event hash", () => {
  it('agrees with computeEventHash of @trm/event-store, on good and changed events', async () => {
    const { eventHashMatchesFast, eventHashMatchesReference } = await import('./verify-export.js');
    const a1 = ev('case-h', 1, null, { nested: { b: [1, 'x', { z: null, a: true }], a: -0.5 }, 'é': '\u2028' });
    const a2 = ev('case-h', 2, a1.hash);
    for (const e of [a1, a2, { ...a2, data: { ...a2.data, n: 1 } }, { ...a1, prevHash: 'zz' }, { ...a2, prevHash: 'ab'.repeat(32) }]) {
      expect(eventHashMatchesFast(e)).toBe(eventHashMatchesReference(e));
    }
    expect(eventHashMatchesFast(a2)).toBe(true);
  });
});
