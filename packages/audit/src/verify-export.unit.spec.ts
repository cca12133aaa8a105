import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { type JWK, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '@trm/contracts';
import { computeEventHash } from '@trm/event-store';
import { entryLeafHash, exportLine } from './entry.js';
import { type SignedTreeHead, signTreeHead } from './head.js';
import { MerkleTree } from './merkle.js';
import { checkConsistencyProof, checkInclusionProof } from './proofs.js';
import { runCli } from './run-cli.js';
import { verifyExport } from './verify-export.js';

interface Key {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  return { kid, privateKey: privateKey as CryptoKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' } };
}

/** Events with valid per-stream hash chains, as a service's relay would publish them. */
function events(n: number, streams = 3): EventEnvelope[] {
  const heads = new Map<string, { version: number; hash: string | null }>();
  return Array.from({ length: n }, (_, i) => {
    const caseId = `0190a000-0000-7000-8000-00000000000${i % streams}`;
    const streamId = `case-${caseId}`;
    const prev = heads.get(streamId) ?? { version: 0, hash: null };
    const fields = {
      eventId: `0190a000-0000-7000-8000-${String(100000000000 + i)}`,
      streamId,
      streamVersion: prev.version + 1,
      type: prev.version === 0 ? 'CaseNotified' : 'PersonalDataAccessed',
      schemaVersion: 1,
      data: { caseId, countryOfIdentification: 'IT', sequence: i },
      metadata: { actor: 'user-of-ngo-it', organisation: 'ngo-it', correlationId: `c-${i}`, causationId: null, requestId: `r-${i}` },
      recordedAt: new Date(Date.UTC(2026, 10, 22, 10, 0, i)).toISOString(),
    };
    const hash = computeEventHash(prev.hash, fields);
    heads.set(streamId, { version: fields.streamVersion, hash });
    return { service: 'referrals', ...fields, globalPosition: String(i + 1), transactionId: String(1000 + i), prevHash: prev.hash, hash };
  });
}

function exportOf(evs: EventEnvelope[]): { lines: string[]; tree: MerkleTree } {
  const tree = new MerkleTree();
  const lines = evs.map((event, index) => {
    const leaf = entryLeafHash({ index, event });
    tree.append(leaf);
    return exportLine({ index, event }, leaf);
  });
  return { lines, tree };
}

async function headOf(tree: MerkleTree, size: number, key: Key): Promise<SignedTreeHead> {
  return signTreeHead({ treeSize: size, timestamp: Date.UTC(2026, 10, 22, 12), rootHash: tree.root(size).toString('hex') }, key);
}

let key: Key;
let oldKey: Key;
let otherKey: Key;
let jwks: { keys: JWK[] };
let lines: string[];
let tree: MerkleTree;
let head: SignedTreeHead;
let older: SignedTreeHead;

beforeAll(async () => {
  [key, oldKey, otherKey] = await Promise.all([newKey('ledger-2'), newKey('ledger-1'), newKey('ledger-2')]);
  // After a rotation the JWKS keeps the old public key: heads it signed still verify.
  jwks = { keys: [key.publicJwk, oldKey.publicJwk] };
  ({ lines, tree } = exportOf(events(24)));
  head = await headOf(tree, 24, key);
  older = await headOf(tree, 11, oldKey);
});

const verify = (ls: string[], extra: { head?: unknown; previousHead?: unknown; jwks?: { keys: JWK[] } } = {}) =>
  verifyExport(ls, { head: extra.head ?? head, jwks: extra.jwks ?? jwks, ...(extra.previousHead ? { previousHead: extra.previousHead } : {}) });

describe('verifyExport', () => {
  it('accepts an untouched export, its head and an older head it extends (signed by a rotated-out key)', async () => {
    const result = await verify(lines, { previousHead: older });
    expect(result).toMatchObject({ ok: true, entries: 24, beyondHead: 0, head: { treeSize: 24 }, previousHead: { treeSize: 11 } });
  });

  it('rejects an entry whose content changed, naming it', async () => {
    const changed = [...lines];
    changed[7] = changed[7]!.replace('"countryOfIdentification":"IT"', '"countryOfIdentification":"FR"');
    expect(changed[7]).not.toBe(lines[7]);
    expect(await verify(changed)).toMatchObject({ ok: false, code: 'event-hash-mismatch', index: 7, line: 8 });
  });

  it('names the entry whatever single byte of it changed', async () => {
    const target = lines[5]!;
    // Every position of the line, each to a different printable character.
    for (let pos = 0; pos < target.length; pos++) {
      const c = target.charCodeAt(pos);
      const replacement = String.fromCharCode(c === 0x30 ? 0x31 : c === 0x7e ? 0x7d : c + 1);
      const changed = [...lines];
      changed[5] = target.slice(0, pos) + replacement + target.slice(pos + 1);
      const result = await verify(changed);
      expect(result.ok, `byte ${pos}`).toBe(false);
      if (!result.ok) expect(result.index, `byte ${pos}: ${result.message}`).toBe(5);
    }
  });

  it('rejects a changed entry whose leaf hash was recomputed: the root no longer matches the head', async () => {
    const evs = events(24);
    evs[9] = { ...evs[9]!, globalPosition: '999' };
    const forged = [...lines];
    forged[9] = exportLine({ index: 9, event: evs[9] }, entryLeafHash({ index: 9, event: evs[9] }));
    expect(await verify(forged)).toMatchObject({ ok: false, code: 'root-mismatch' });
  });

  it('rejects a removed entry, naming the missing index', async () => {
    const removed = lines.filter((_, i) => i !== 4);
    const result = await verify(removed);
    expect(result).toMatchObject({ ok: false, code: 'unexpected-index', index: 4, line: 5 });
    expect(!result.ok && result.message).toContain('entry 4 is missing');
  });

  it('rejects the last entries cut off', async () => {
    expect(await verify(lines.slice(0, 20))).toMatchObject({ ok: false, code: 'export-too-short', index: 20 });
  });

  it('rejects reordered entries', async () => {
    const swapped = [...lines];
    [swapped[10], swapped[11]] = [swapped[11]!, swapped[10]!];
    expect(await verify(swapped)).toMatchObject({ ok: false, code: 'unexpected-index', index: 10 });
  });

  it('rejects reordered entries renumbered with fresh leaf hashes', async () => {
    const evs = events(24);
    [evs[10], evs[11]] = [evs[11]!, evs[10]!];
    expect(await verify(exportOf(evs).lines)).toMatchObject({ ok: false, code: 'root-mismatch' });
  });

  it('rejects an inserted entry', async () => {
    const inserted = [...lines.slice(0, 6), lines[3]!, ...lines.slice(6)];
    expect(await verify(inserted)).toMatchObject({ ok: false, code: 'unexpected-index', index: 6, line: 7 });
    const forgedEvents = events(25);
    forgedEvents.splice(6, 0, { ...forgedEvents[24]!, streamId: 'case-forged', prevHash: null, streamVersion: 1 });
    const renumbered = exportOf(forgedEvents.slice(0, 25)).lines;
    const result = await verify(renumbered);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.index).toBe(6);
  });

  it('rejects a head signed by another key, even with the same key id', async () => {
    const forged = await headOf(tree, 24, otherKey);
    const result = await verify(lines, { head: forged });
    expect(result).toMatchObject({ ok: false, code: 'bad-head' });
    const unknown = await headOf(tree, 24, await newKey('someone-else'));
    expect(await verify(lines, { head: unknown })).toMatchObject({ ok: false, code: 'bad-head' });
    expect(await verify(lines, { head: { ...head, treeSize: 23 } })).toMatchObject({ ok: false, code: 'bad-head' });
  });

  it('rejects a previous head of a log this export does not extend', async () => {
    const evs = events(24);
    evs[2] = { ...evs[2]!, transactionId: '1' };
    const fork = exportOf(evs);
    const forkHead = await headOf(fork.tree, 11, key);
    expect(await verify(lines, { previousHead: forkHead })).toMatchObject({ ok: false, code: 'previous-root-mismatch' });
    expect(await verify(lines.slice(0, 11), { head: older, previousHead: head })).toMatchObject({ ok: false, code: 'previous-head-newer' });
  });

  it('checks entries beyond the head but says the signature does not cover them', async () => {
    const smaller = await headOf(tree, 20, key);
    expect(await verify(lines, { head: smaller })).toMatchObject({ ok: true, entries: 24, beyondHead: 4 });
  });
});

describe('proof documents', () => {
  it('accepts a genuine inclusion proof and rejects a forged one', async () => {
    const doc = { index: 6, treeSize: 24, leafHash: tree.leaf(6).toString('hex'), auditPath: tree.inclusionProof(6, 24).map((h) => h.toString('hex')) };
    expect(await checkInclusionProof(doc, head, jwks)).toEqual({ ok: true });
    const forgedPath = [...doc.auditPath];
    forgedPath[0] = tree.leaf(9).toString('hex');
    expect(await checkInclusionProof({ ...doc, auditPath: forgedPath }, head, jwks)).toMatchObject({ ok: false });
    expect(await checkInclusionProof({ ...doc, leafHash: tree.leaf(5).toString('hex') }, head, jwks)).toMatchObject({ ok: false });
    expect(await checkInclusionProof(doc, await headOf(tree, 24, otherKey), jwks)).toMatchObject({ ok: false });
  });

  it('accepts a consistency proof between heads of one log and rejects one between forks', async () => {
    const doc = { firstTreeSize: 11, secondTreeSize: 24, proof: tree.consistencyProof(11, 24).map((h) => h.toString('hex')) };
    expect(await checkConsistencyProof(doc, older, head, jwks)).toEqual({ ok: true });
    const evs = events(24);
    evs[2] = { ...evs[2]!, transactionId: '1' };
    const fork = exportOf(evs).tree;
    const forkHead = await headOf(fork, 24, key);
    const forkDoc = { ...doc, proof: fork.consistencyProof(11, 24).map((h) => h.toString('hex')) };
    expect(await checkConsistencyProof(forkDoc, older, forkHead, jwks)).toMatchObject({ ok: false });
  });
});

describe('trm-audit', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'trm-audit-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function run(args: string[], stdin = new PassThrough()): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err = new PassThrough();
    const errChunks: string[] = [];
    err.on('data', (c) => errChunks.push(String(c)));
    const code = await runCli(args, { stdout: (l) => out.push(l), stderr: err, stdin });
    return { code, out: out.join('\n'), err: errChunks.join('') };
  }

  it('reads every entry from standard input, even when all of it is there before the head is checked', async () => {
    await writeFile(path.join(dir, 'h2.json'), JSON.stringify(head));
    await writeFile(path.join(dir, 'k2.json'), JSON.stringify(jwks));
    // Already written and ended: readline emits every line at once, while the head's signature is
    // still being checked. Lines emitted before the reader iterates would be lost.
    const stdin = new PassThrough();
    stdin.end(`${lines.join('\n')}\n`);
    const ok = await run(['verify', '-', '--head', path.join(dir, 'h2.json'), '--jwks', path.join(dir, 'k2.json')], stdin);
    expect(ok.out).toMatch(/^OK: 24 entries verified/);
    expect(ok.code).toBe(0);
  });

  it('exits 0 with OK, 1 naming the entry, 2 on bad usage', async () => {
    const files = { entries: path.join(dir, 'e.ndjson'), head: path.join(dir, 'h.json'), jwks: path.join(dir, 'k.json'), old: path.join(dir, 'o.json') };
    await writeFile(files.entries, `${lines.join('\n')}\n`);
    await writeFile(files.head, JSON.stringify(head));
    await writeFile(files.jwks, JSON.stringify(jwks));
    await writeFile(files.old, JSON.stringify(older));
    const ok = await run(['verify', files.entries, '--head', files.head, '--jwks', files.jwks, '--previous-head', files.old]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^OK: 24 entries verified/);
    expect(ok.out).toContain('extends the previous head of tree size 11');

    const changed = [...lines];
    changed[13] = changed[13]!.replace('"sequence":13', '"sequence":14');
    await writeFile(files.entries, `${changed.join('\n')}\n`);
    const bad = await run(['verify', files.entries, '--head', files.head, '--jwks', files.jwks]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^FAILED: entry 13 \(line 14\)/);

    expect((await run(['verify', files.entries, '--jwks', files.jwks])).code).toBe(2);
    expect((await run(['verify', path.join(dir, 'missing'), '--head', files.head, '--jwks', files.jwks])).code).toBe(2);
    expect((await run(['frobnicate', files.entries, '--jwks', files.jwks])).code).toBe(2);
  });
});
