import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { OrgType, Role } from './identity.js';

/** A development signing key. Never use in production: anyone with the file can mint tokens. */
export interface DevKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

const FILE = 'dev-signing-key.jwk.json';

export async function loadOrCreateDevKey(dir: string): Promise<DevKey> {
  const file = path.join(dir, FILE);
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    jwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'ES256', use: 'sig' };
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      // 'wx': a second process creating the key at the same moment must not overwrite the first.
      await writeFile(file, JSON.stringify(jwk), { mode: 0o600, flag: 'wx' });
    } catch (writeErr) {
      if ((writeErr as NodeJS.ErrnoException).code !== 'EEXIST') throw writeErr;
      jwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
    }
  }
  if (!jwk.kid || !jwk.d) throw new Error(`${file} is not a private JWK with a kid`);
  const { d: _d, ...publicJwk } = jwk;
  const privateKey = (await importJWK(jwk, 'ES256')) as CryptoKey;
  return { kid: jwk.kid, privateKey, publicJwk: { ...publicJwk, alg: 'ES256', use: 'sig' } };
}

export function devJwks(key: DevKey): { keys: JWK[] } {
  return { keys: [key.publicJwk] };
}

export interface TokenClaimsInput {
  org: string;
  orgType: OrgType;
  roles: Role[];
  sub?: string;
  issuer: string;
  audience: string;
  /** Default 8 hours: a working day. */
  ttlSeconds?: number;
}

export async function signToken(key: DevKey, claims: TokenClaimsInput): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ org: claims.org, org_type: claims.orgType, roles: claims.roles })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setSubject(claims.sub ?? `dev-user@${claims.org}`)
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.ttlSeconds ?? 8 * 3600))
    .setJti(randomUUID())
    .sign(key.privateKey);
}
