import { type KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../config.js';

/**
 * The key TRM signs webhook notifications with: Ed25519, Standard Webhooks' asymmetric scheme
 * (`v1a`). Partners verify with the public key served at `GET /v1/webhooks/keys` (JWKS), so no
 * per-subscription secret exists to be stored, leaked or rotated per partner.
 *
 * Distributed: `TRM_WEBHOOK_SIGNING_KEY`, a private OKP/Ed25519 JWK (`{"kty":"OKP","crv":"Ed25519","x":…,"d":…,"kid":…}`),
 * the same for every service. `make run` and tests: a development key kept in the data folder
 * (`dev-webhook-signing-key.jwk.json`, created on first use). NODE_ENV=production without the
 * variable refuses to start.
 */
export interface WebhookSigningKey {
  kid: string;
  privateKey: KeyObject;
  /** The public JWK (`kty`, `crv`, `x`, `kid`, `alg: EdDSA`, `use: sig`). */
  publicJwk: Record<string, string>;
  /**
   * Further public keys served beside it (`TRM_WEBHOOK_PUBLISHED_KEYS`, a JSON array of public
   * JWKs): during a rotation, the next key before TRM signs with it and the previous one after,
   * so that partners who cache the JWKS verify throughout.
   */
  published: Array<Record<string, string>>;
}

/** Every key partners should accept: the signing key first. */
export function webhookJwks(key: WebhookSigningKey): { keys: Array<Record<string, string>> } {
  return { keys: [key.publicJwk, ...key.published.filter((k) => k.x !== key.publicJwk.x)] };
}

function publishedKeys(env: NodeJS.ProcessEnv): Array<Record<string, string>> {
  if (!env.TRM_WEBHOOK_PUBLISHED_KEYS) return [];
  let list: unknown;
  try {
    list = JSON.parse(env.TRM_WEBHOOK_PUBLISHED_KEYS);
  } catch {
    throw new ConfigError('TRM_WEBHOOK_PUBLISHED_KEYS: not JSON (an array of public Ed25519 JWKs)');
  }
  if (!Array.isArray(list)) throw new ConfigError('TRM_WEBHOOK_PUBLISHED_KEYS: an array of public Ed25519 JWKs');
  return list.map((k: OkpJwk, i) => {
    if (k?.kty !== 'OKP' || k.crv !== 'Ed25519' || !k.x) throw new ConfigError(`TRM_WEBHOOK_PUBLISHED_KEYS[${i}]: not an Ed25519 public JWK`);
    if (k.d) throw new ConfigError(`TRM_WEBHOOK_PUBLISHED_KEYS[${i}]: holds a private key (d): publish public keys only`);
    createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.x }, format: 'jwk' });
    return { kty: 'OKP', crv: 'Ed25519', x: k.x, kid: k.kid ?? `webhooks-${k.x.slice(0, 16)}`, alg: 'EdDSA', use: 'sig' };
  });
}

const DEV_FILE = 'dev-webhook-signing-key.jwk.json';

interface OkpJwk {
  kty?: string;
  crv?: string;
  x?: string;
  d?: string;
  kid?: string;
}

function fromJwk(jwk: OkpJwk, where: string, published: Array<Record<string, string>> = []): WebhookSigningKey {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x || !jwk.d) throw new ConfigError(`${where}: an Ed25519 private JWK is needed (kty OKP, crv Ed25519, x, d)`);
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, format: 'jwk' });
  const x = (createPublicKey(privateKey).export({ format: 'jwk' }) as OkpJwk).x!;
  if (x !== jwk.x) throw new ConfigError(`${where}: x is not the public key of d`);
  const kid = jwk.kid ?? `webhooks-${x.slice(0, 16)}`;
  return { kid, privateKey, publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' }, published };
}

/** A fresh private JWK (for `TRM_WEBHOOK_SIGNING_KEY`). */
export function generateWebhookSigningJwk(): Record<string, string> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as Record<string, string>;
  return { ...jwk, kid: `webhooks-${randomUUID()}` };
}

export async function loadWebhookSigningKey(env: NodeJS.ProcessEnv): Promise<WebhookSigningKey> {
  if (env.TRM_WEBHOOK_SIGNING_KEY) {
    let jwk: OkpJwk;
    try {
      jwk = JSON.parse(env.TRM_WEBHOOK_SIGNING_KEY) as OkpJwk;
    } catch {
      throw new ConfigError('TRM_WEBHOOK_SIGNING_KEY: not JSON (a private Ed25519 JWK)');
    }
    return fromJwk(jwk, 'TRM_WEBHOOK_SIGNING_KEY', publishedKeys(env));
  }
  if (env.NODE_ENV === 'production') {
    throw new ConfigError(
      'NODE_ENV=production refuses to start with:\n  - the development webhook signing key: set TRM_WEBHOOK_SIGNING_KEY to a private Ed25519 JWK (node apps/trm/dist/webhook-key.js prints one)',
    );
  }
  const dir = path.resolve(env.TRM_DATA_DIR ?? '.data');
  const file = path.join(dir, DEV_FILE);
  let jwk: OkpJwk;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8')) as OkpJwk;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    jwk = generateWebhookSigningJwk();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      // 'wx': another service process creating it at the same moment keeps the first one.
      await writeFile(file, JSON.stringify(jwk), { mode: 0o600, flag: 'wx' });
    } catch (writeErr) {
      if ((writeErr as NodeJS.ErrnoException).code !== 'EEXIST') throw writeErr;
      jwk = JSON.parse(await readFile(file, 'utf8')) as OkpJwk;
    }
  }
  return fromJwk(jwk, file, publishedKeys(env));
}

/**
 * The Standard Webhooks headers of one attempt: the signed content is
 * `{webhook-id}.{webhook-timestamp}.{body}`, the signature `v1a,<base64 Ed25519 signature>`.
 */
export function signWebhook(key: WebhookSigningKey, msgId: string, timestampSeconds: number, body: string): Record<string, string> {
  if (msgId.includes('.')) throw new Error('a webhook id must not contain "."');
  const signature = sign(null, Buffer.from(`${msgId}.${timestampSeconds}.${body}`, 'utf8'), key.privateKey).toString('base64');
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1a,${signature}`,
  };
}
