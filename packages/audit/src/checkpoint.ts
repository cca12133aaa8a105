import { type KeyObject, createHash, createPublicKey, sign as edSign, verify as edVerify } from 'node:crypto';

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519, and tree heads as C2SP
 * checkpoints (https://c2sp.org/tlog-checkpoint), so any tool that speaks them (Go's
 * golang.org/x/mod/sumdb/note, the transparency-dev clients) verifies the ledger's heads.
 *
 * - key name: non-empty UTF-8 without spaces or '+' (the log's origin, by convention)
 * - key ID: SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key)[:4]
 * - signature line: U+2014, space, key name, space, base64(key ID ‖ 64-byte signature), newline;
 *   the signature covers the note text including its final newline
 * - vkey: `<name>+<hex key ID>+<base64(0x01 ‖ public key)>`
 * - checkpoint text: origin, decimal tree size, base64 root hash, one per line
 */
const ED25519 = 0x01;
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function isKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name);
}

export function noteKeyId(name: string, publicKey: Uint8Array): Buffer {
  return createHash('sha256')
    .update(Buffer.from(name, 'utf8'))
    .update(Buffer.from([0x0a, ED25519]))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

export function vkeyOf(name: string, publicKey: Uint8Array): string {
  if (!isKeyName(name)) throw new TypeError('a note key name is non-empty, without spaces or +');
  return `${name}+${noteKeyId(name, publicKey).toString('hex')}+${Buffer.concat([Buffer.from([ED25519]), publicKey]).toString('base64')}`;
}

/** The text of a checkpoint (no extension lines). */
export function checkpointText(origin: string, treeSize: number, rootHashHex: string): string {
  if (!isKeyName(origin) || origin.includes('\n')) throw new TypeError('checkpoint origin must be a non-empty line without spaces');
  return `${origin}\n${treeSize}\n${Buffer.from(rootHashHex, 'hex').toString('base64')}\n`;
}

/** Signs a note text (ending in a newline) with an Ed25519 private key under `name`. */
export function signNote(text: string, name: string, privateKey: KeyObject, publicKey: Uint8Array): string {
  if (!text.endsWith('\n') || text.includes('\n\n')) throw new TypeError('a note text ends in one newline and holds no blank line');
  const signature = edSign(null, Buffer.from(text, 'utf8'), privateKey);
  return `${text}\n\u2014 ${name} ${Buffer.concat([noteKeyId(name, publicKey), signature]).toString('base64')}\n`;
}

export interface ParsedVkey {
  name: string;
  keyId: Buffer;
  publicKey: Buffer;
}

export function parseVkey(vkey: string): ParsedVkey | null {
  // The key is base64, which may hold '+': cut at the first two only.
  const text = vkey.trim();
  const a = text.indexOf('+');
  const b = text.indexOf('+', a + 1);
  if (a < 0 || b < 0) return null;
  const [name, idHex, b64] = [text.slice(0, a), text.slice(a + 1, b), text.slice(b + 1)];
  const key = Buffer.from(b64, 'base64');
  if (!isKeyName(name) || key.length !== 33 || key[0] !== ED25519) return null;
  const publicKey = key.subarray(1);
  const keyId = noteKeyId(name, publicKey);
  return keyId.toString('hex') === idHex ? { name, keyId, publicKey } : null;
}

export type CheckpointCheck = { ok: true; origin: string; treeSize: number; rootHash: string } | { ok: false; reason: string };

/** Opens a signed checkpoint with one verifier key: the signature of that key must verify. */
export function verifyCheckpoint(note: string, vkey: string): CheckpointCheck {
  const key = parseVkey(vkey);
  if (!key) return { ok: false, reason: 'the vkey is not an Ed25519 note verifier key' };
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) return { ok: false, reason: 'not a signed note' };
  const text = note.slice(0, split + 1);
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, key.publicKey]), format: 'der', type: 'spki' });
  let signed = false;
  for (const line of note.slice(split + 2, -1).split('\n')) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) return { ok: false, reason: 'a signature line is malformed' };
    const sig = Buffer.from(m[2]!, 'base64');
    if (m[1] !== key.name || sig.length !== 68 || !sig.subarray(0, 4).equals(key.keyId)) continue;
    if (!edVerify(null, Buffer.from(text, 'utf8'), publicKey, sig.subarray(4))) return { ok: false, reason: 'the signature does not verify' };
    signed = true;
  }
  if (!signed) return { ok: false, reason: `no signature by ${key.name}` };
  const lines = text.slice(0, -1).split('\n');
  const [origin, size, root] = lines as [string, string | undefined, string | undefined];
  const rootBytes = Buffer.from(root ?? '', 'base64');
  if (!size || !/^(0|[1-9][0-9]*)$/.test(size) || rootBytes.length !== 32 || rootBytes.toString('base64') !== root) {
    return { ok: false, reason: 'the note is not a checkpoint (origin, size, base64 root)' };
  }
  return { ok: true, origin, treeSize: Number(size), rootHash: rootBytes.toString('hex') };
}

/** C2SP tlog-tiles: the path element of tile index n (3-digit groups, all but the last prefixed x). */
export function tileIndexPath(n: number): string {
  const parts: string[] = [];
  do {
    parts.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return parts.map((p, i) => (i < parts.length - 1 ? `x${p}` : p)).join('/');
}

/** Parses `<N>[.p/<W>]` of a tile path back; null when malformed (or not canonical). */
export function parseTileIndexPath(path: string): { index: number; width: number | null } | null {
  const m = /^((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/.exec(path);
  if (!m) return null;
  const groups = [...(m[1] ? m[1].split('/').filter(Boolean).map((g) => g.slice(1)) : []), m[2]!];
  if (groups.length > 1 && groups[0] === '000') return null;
  const index = groups.reduce((acc, g) => acc * 1000 + Number(g), 0);
  const width = m[3] ? Number(m[3]) : null;
  if (width !== null && width >= 256) return null;
  return Number.isSafeInteger(index) ? { index, width } : null;
}
