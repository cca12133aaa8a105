import { type KeyObject, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type CryptoKey, type JWK, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import { ConfigError } from '@trm/runtime';

/**
 * The ledger's signing keys: the current Ed25519 private key signs new heads; every key ever
 * used stays in the published JWKS (public part only) so heads signed before a rotation still
 * verify. File format: `{ "keys": [JWK, …] }`, first key current (it must hold `d`); retired
 * keys may be kept as public JWKs only.
 */
export interface LedgerKeyring {
  current: { kid: string; privateKey: CryptoKey };
  /** The current key for C2SP signed notes (checkpoints): node's key object and the raw 32-byte public key. */
  note: { privateKey: KeyObject; publicKey: Buffer };
  jwks: { keys: JWK[] };
}

export const EMBEDDED_KEY_FILE = 'ledger-signing-keys.json';

async function newPrivateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  // The RFC 7638 thumbprint: a key id nobody has to allocate and anyone can recompute.
  const kid = await calculateJwkThumbprint({ kty: jwk.kty!, crv: jwk.crv!, x: jwk.x! });
  return { ...jwk, kid, alg: 'EdDSA', use: 'sig' };
}

function publicPart(jwk: JWK): JWK {
  const { d: _d, ...pub } = jwk;
  return { kty: pub.kty, crv: pub.crv, x: pub.x, kid: pub.kid, alg: 'EdDSA', use: 'sig' } as JWK;
}

function parseKeyFile(text: string, file: string): JWK[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`${file}: not JSON`);
  }
  const keys = (json as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new ConfigError(`${file}: expected { "keys": [ … ] }`);
  for (const k of keys as JWK[]) {
    if (k?.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string' || typeof k.kid !== 'string') {
      throw new ConfigError(`${file}: every key must be an Ed25519 JWK with a kid`);
    }
  }
  if (typeof (keys[0] as JWK).d !== 'string') throw new ConfigError(`${file}: the first (current) key must be a private key`);
  const kids = new Set((keys as JWK[]).map((k) => k.kid));
  if (kids.size !== keys.length) throw new ConfigError(`${file}: two keys share a kid`);
  return keys as JWK[];
}

async function writeKeyFile(file: string, keys: JWK[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written aside and renamed: a crash never leaves a half-written key file.
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ keys }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await rename(tmp, file);
}

export async function loadKeyring(file: string): Promise<LedgerKeyring> {
  const keys = parseKeyFile(await readFile(file, 'utf8'), file);
  const current = keys[0]!;
  const privateKey = (await importJWK(current, 'EdDSA')) as CryptoKey;
  const note = { privateKey: createPrivateKey({ key: current as never, format: 'jwk' }), publicKey: Buffer.from(current.x!, 'base64url') };
  return { current: { kid: current.kid!, privateKey }, note, jwks: { keys: keys.map(publicPart) } };
}

/** Embedded mode: the key file in the data folder, created (0600) on first start. */
export async function loadOrCreateKeyring(file: string): Promise<LedgerKeyring> {
  try {
    return await loadKeyring(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, `${JSON.stringify({ keys: [await newPrivateJwk()] }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return loadKeyring(file);
}

/**
 * Rotation: a new current key first; the old current key keeps only its public part (the ledger
 * no longer needs to sign with it), so old heads stay verifiable and the old key cannot sign.
 * Creates the file when it does not exist. Returns the new key id.
 */
export async function rotateKeyFile(file: string): Promise<string> {
  let keys: JWK[] = [];
  try {
    keys = parseKeyFile(await readFile(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const fresh = await newPrivateJwk();
  await writeKeyFile(file, [fresh, ...keys.map(publicPart)]);
  return fresh.kid!;
}

export function keyFileFor(settings: { LEDGER_SIGNING_KEY_FILE?: string | undefined; TRM_DATA_DIR: string }, mode: 'embedded' | 'distributed'): string {
  if (settings.LEDGER_SIGNING_KEY_FILE) return settings.LEDGER_SIGNING_KEY_FILE;
  if (mode === 'distributed') throw new ConfigError('ledger: set LEDGER_SIGNING_KEY_FILE (a JWK set made with `node services/ledger/dist/keys.js rotate <file>`)');
  return path.resolve(settings.TRM_DATA_DIR, EMBEDDED_KEY_FILE);
}
