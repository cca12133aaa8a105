import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointText, noteKeyId, parseTileIndexPath, signNote, tileIndexPath, verifyCheckpoint, vkeyOf } from './checkpoint.js';
import { MerkleTree, leafHash } from './merkle.js';
import { runCli } from './run-cli.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
const NAME = 'trm.test/ledger';

describe('C2SP signed notes and checkpoints', () => {
  it('uses the spec key id and vkey form, and round-trips a checkpoint', () => {
    const id = createHash('sha256').update(Buffer.concat([Buffer.from(`${NAME}\n`), Buffer.from([1]), raw])).digest().subarray(0, 4);
    expect(noteKeyId(NAME, raw)).toEqual(id);
    expect(vkeyOf(NAME, raw)).toBe(`${NAME}+${id.toString('hex')}+${Buffer.concat([Buffer.from([1]), raw]).toString('base64')}`);
    const note = signNote(checkpointText(NAME, 7, 'ab'.repeat(32)), NAME, privateKey, raw);
    expect(note.split('\n').slice(0, 4)).toEqual([NAME, '7', Buffer.from('ab'.repeat(32), 'hex').toString('base64'), '']);
    expect(note.split('\n')[4]).toMatch(/^\u2014 trm\.test\/ledger [A-Za-z0-9+/]{91}=$/);
    expect(verifyCheckpoint(note, vkeyOf(NAME, raw))).toEqual({ ok: true, origin: NAME, treeSize: 7, rootHash: 'ab'.repeat(32) });
    expect(verifyCheckpoint(note.replace('\n7\n', '\n8\n'), vkeyOf(NAME, raw))).toMatchObject({ ok: false });
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
    expect(verifyCheckpoint(note, vkeyOf(NAME, other))).toMatchObject({ ok: false });
  });

  it('writes and reads C2SP tile index paths', () => {
    expect(tileIndexPath(0)).toBe('000');
    expect(tileIndexPath(1234067)).toBe('x001/x234/067');
    expect(parseTileIndexPath('x001/x234/067')).toEqual({ index: 1234067, width: null });
    expect(parseTileIndexPath('000.p/5')).toEqual({ index: 0, width: 5 });
    for (const bad of ['12', 'x000/001', '000.p/256', '000.p/0', '001/002', 'entries/000']) expect(parseTileIndexPath(bad), bad).toBeNull();
  });
});

describe('trm-audit with a checkpoint', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'trm-audit-cp-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('checks a checkpoint, and a structural export against it', async () => {
    const tree = new MerkleTree();
    const lines: string[] = [];
    for (let i = 0; i < 5; i++) {
      const leaf = leafHash(Buffer.from(`entry ${i}`));
      tree.append(leaf);
      lines.push(`{"index":${i},"leafHash":"${leaf.toString('hex')}"}`);
    }
    const files = { cp: path.join(dir, 'checkpoint'), vkey: path.join(dir, 'vkey'), entries: path.join(dir, 'e.ndjson') };
    await writeFile(files.cp, signNote(checkpointText(NAME, 5, tree.root().toString('hex')), NAME, privateKey, raw));
    await writeFile(files.vkey, `${vkeyOf(NAME, raw)}\n`);
    await writeFile(files.entries, `${lines.join('\n')}\n`);
    const run = async (args: string[]) => {
      const out: string[] = [];
      const code = await runCli(args, { stdout: (l) => out.push(l), stderr: new PassThrough(), stdin: new PassThrough() });
      return { code, out: out.join('\n') };
    };
    expect(await run(['checkpoint', files.cp, '--vkey', files.vkey])).toMatchObject({ code: 0, out: expect.stringMatching(/^OK: checkpoint of trm\.test\/ledger, tree size 5/) });
    const ok = await run(['verify', files.entries, '--checkpoint', files.cp, '--vkey', files.vkey]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^OK: 5 entries verified against the head of tree size 5/);
    lines[2] = lines[3]!.replace('"index":3', '"index":2');
    await writeFile(files.entries, `${lines.join('\n')}\n`);
    const bad = await run(['verify', files.entries, '--checkpoint', files.cp, '--vkey', files.vkey]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^FAILED: /);
  });
});
