import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signTreeHead, verifyTreeHead } from '@trm/audit';
import { loadKeyring, loadOrCreateKeyring, rotateKeyFile } from './signing-keys.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'trm-ledger-keys-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('ledger signing keys', () => {
  it('creates the embedded key file once, private and 0600', async () => {
    const file = path.join(dir, 'embedded', 'keys.json');
    const first = await loadOrCreateKeyring(file);
    const again = await loadOrCreateKeyring(file);
    expect(again.current.kid).toBe(first.current.kid);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(first.jwks.keys.every((k) => !('d' in k))).toBe(true);
  });

  it('rotates: heads signed with the old key still verify, the old private key is dropped', async () => {
    const file = path.join(dir, 'rotated.json');
    await rotateKeyFile(file);
    const before = await loadKeyring(file);
    const oldHead = await signTreeHead({ treeSize: 3, timestamp: 1, rootHash: 'a'.repeat(64) }, before.current);
    const newKid = await rotateKeyFile(file);
    const after = await loadKeyring(file);
    expect(after.current.kid).toBe(newKid);
    expect(after.jwks.keys.map((k) => k.kid)).toEqual([newKid, before.current.kid]);
    const stored = JSON.parse(await readFile(file, 'utf8')) as { keys: Array<{ d?: string }> };
    expect(stored.keys.map((k) => typeof k.d)).toEqual(['string', 'undefined']);
    expect(await verifyTreeHead(oldHead, after.jwks)).toMatchObject({ ok: true });
    const newHead = await signTreeHead({ treeSize: 4, timestamp: 2, rootHash: 'b'.repeat(64) }, after.current);
    expect(await verifyTreeHead(newHead, after.jwks)).toMatchObject({ ok: true, head: { keyId: newKid } });
    // Without the old key in the set, its heads are refused.
    expect(await verifyTreeHead(oldHead, { keys: after.jwks.keys.slice(0, 1) })).toMatchObject({ ok: false });
  });
});
