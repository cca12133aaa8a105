import { createHmac, createPublicKey, KeyObject, randomUUID, sign } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DevKey } from '@trm/platform';
import { base64url, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiRoute, apiRoutes, key } from './support/security/routes.js';
import { AUDIENCE, ISSUER, type SecurityStack, startSecurityStack, until } from './support/security/stack.js';

/**
 * Token attacks against the whole composed API, its keys served by an identity provider over
 * HTTP (JWKS_URL), as in production: forged, stale, misdirected and mistyped tokens; key
 * rotation at the provider without a restart; the provider unreachable (refused, never guessed).
 */
let stack: SecurityStack;
let jwks: { keys: JWK[] };
let providerDown = false;
let provider: http.Server;
let providerUrl: string;
/** One protected route per service (first segment after /v1), taken from the route table. */
let samples: ApiRoute[];
/** The provider's signing key after rotation. */
let current: { privateKey: DevKey['privateKey']; kid: string } | undefined;

const CACHE_MAX_AGE_MS = 400;

beforeAll(async () => {
  provider = http.createServer((req, res) => {
    if (providerDown) {
      res.destroy();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/.well-known/jwks.json`;
  stack = await startSecurityStack({
    auth: (k) => {
      jwks = { keys: [k.publicJwk] };
      return { jwks: { url: providerUrl, cooldownMs: 0, cacheMaxAgeMs: CACHE_MAX_AGE_MS, timeoutMs: 1000 }, issuer: ISSUER, audience: AUDIENCE };
    },
  });
  const seen = new Set<string>();
  // One GET per service area that the genuine token's roles may call (an area only for other
  // roles, such as the admin's webhook subscriptions, has nothing to prove here).
  samples = apiRoutes(stack.app).filter((r) => {
    const segment = r.url.split('/')[2];
    if ('public' in r.rule || r.method !== 'GET' || !segment || seen.has(segment)) return false;
    if (!r.rule.roles.some((role) => GENUINE_ROLES.includes(role))) return false;
    seen.add(segment);
    return true;
  });
}, 120_000);
afterAll(async () => {
  await stack?.close();
  provider?.closeAllConnections();
  await new Promise((r) => provider?.close(r));
});

const now = () => Math.floor(Date.now() / 1000);
const GENUINE_ROLES: string[] = ['case_officer', 'auditor', 'proceedings_coordinator', 'statistics_reader'];

interface Forge {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  drop?: string[];
  signWith?: DevKey['privateKey'];
  kid?: string | null;
  alg?: string;
}

/** A token like the identity provider's, altered as the attack needs. */
async function forge(f: Forge = {}): Promise<string> {
  const claims: Record<string, unknown> = {
    org: 'anitp',
    org_type: 'national_contact_point',
    roles: GENUINE_ROLES,
    sub: 'officer',
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now(),
    exp: now() + 600,
    jti: randomUUID(),
    ...f.claims,
  };
  for (const d of f.drop ?? []) delete claims[d];
  const kid = f.kid === undefined ? stack.key.kid : f.kid;
  const header = { alg: f.alg ?? 'ES256', typ: 'JWT', ...(kid === null ? {} : { kid }), ...f.header };
  return new SignJWT(claims).setProtectedHeader(header as never).sign(f.signWith ?? stack.key.privateKey);
}

/** HS256 over header.payload with any secret, as an attacker who only knows public material can. */
function hmacToken(secret: Buffer | string, claims: Record<string, unknown> = {}): string {
  const h = base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: stack.key.kid }));
  const p = base64url.encode(JSON.stringify({ org: 'anitp', org_type: 'national_contact_point', roles: ['case_officer'], sub: 's', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 600, ...claims }));
  const sig = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
  return `${h}.${p}.${sig}`;
}

/** Signed by the genuine key, but with a header jose itself refuses to produce. */
function rawEs256(header: Record<string, unknown>): string {
  const h = base64url.encode(JSON.stringify(header));
  const p = base64url.encode(JSON.stringify({ org: 'anitp', org_type: 'national_contact_point', roles: ['case_officer'], sub: 's', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 600 }));
  const sig = sign('sha256', Buffer.from(`${h}.${p}`), { key: KeyObject.from(stack.key.privateKey as never), dsaEncoding: 'ieee-p1363' });
  return `${h}.${p}.${sig.toString('base64url')}`;
}

async function statusOf(route: ApiRoute, authorization: string | undefined, url = route.url) {
  const res = await stack.app.inject({
    method: route.method as 'GET',
    url: url.replace(/:([A-Za-z0-9_]+)/g, '019a0000-0000-7000-8000-000000000001'),
    headers: authorization === undefined ? {} : { authorization },
  });
  return res;
}

describe('forged and misused tokens', () => {
  it('lets the provider\'s genuine token through to every service (so the refusals below are about the attack)', async () => {
    const good = await forge();
    for (const r of samples) {
      const res = await statusOf(r, `Bearer ${good}`);
      expect([401, 403, 503], `${key(r)} → ${res.statusCode} ${res.body}`).not.toContain(res.statusCode);
    }
  });

  it('refuses every forgery on every service with 401 and a problem that says nothing more', async () => {
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const publicPem = createPublicKey({ key: stack.key.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const unsigned = (claims: Record<string, unknown>) =>
      `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify({ org: 'anitp', org_type: 'national_contact_point', roles: ['case_officer'], sub: 's', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 600, ...claims }))}.`;
    const attacks: Record<string, string> = {
      'alg none': unsigned({}),
      'alg none with a signature part': `${unsigned({})}AAAA`,
      'HS256 keyed with the public key PEM (algorithm confusion)': hmacToken(String(publicPem)),
      'HS256 keyed with the public JWK': hmacToken(JSON.stringify(stack.key.publicJwk)),
      'RS256 signed by an attacker under the real kid (RS/ES confusion)': await forge({ alg: 'RS256', signWith: rsa.privateKey }),
      'ES256 signed by an attacker under the real kid': await forge({ signWith: attacker.privateKey }),
      'ES256 signed by an attacker under an unknown kid': await forge({ signWith: attacker.privateKey, kid: randomUUID() }),
      'ES256 signed by an attacker without kid': await forge({ signWith: attacker.privateKey, kid: null }),
      'attacker key embedded in the header (jwk)': await forge({ signWith: attacker.privateKey, kid: null, header: { jwk: await exportJWK(attacker.publicKey) } }),
      'attacker JWKS named in the header (jku)': await forge({ signWith: attacker.privateKey, kid: 'evil', header: { jku: 'http://127.0.0.1:1/evil.json' } }),
      'unknown critical header': rawEs256({ alg: 'ES256', typ: 'JWT', kid: stack.key.kid, crit: ['exp-ext'], 'exp-ext': 1 }),
      'expired': await forge({ claims: { iat: now() - 7200, exp: now() - 3600 } }),
      'expired just beyond the clock tolerance': await forge({ claims: { iat: now() - 600, exp: now() - 60 } }),
      'no exp': await forge({ drop: ['exp'] }),
      'no iat': await forge({ drop: ['iat'] }),
      'no sub': await forge({ drop: ['sub'] }),
      'not valid before a future nbf': await forge({ claims: { nbf: now() + 3600 } }),
      'wrong issuer': await forge({ claims: { iss: 'https://evil.example' } }),
      'no issuer': await forge({ drop: ['iss'] }),
      'wrong audience': await forge({ claims: { aud: 'another-api' } }),
      'audience list without ours': await forge({ claims: { aud: ['another-api', 'yet-another'] } }),
      'wrong typ (an ID token)': await forge({ header: { typ: 'id+jwt' } }),
      'wrong typ (DPoP proof)': await forge({ header: { typ: 'dpop+jwt' } }),
      'a role that does not exist': await forge({ claims: { roles: ['superuser'] } }),
      'roles as a string': await forge({ claims: { roles: 'case_officer' } }),
      'an organisation that is not registered': await forge({ claims: { org: 'evil-org' } }),
      'a registered organisation claiming another type': await forge({ claims: { org: 'ngo-it', org_type: 'national_contact_point' } }),
    };
    const failures: string[] = [];
    for (const [what, token] of Object.entries(attacks)) {
      for (const r of samples) {
        const res = await statusOf(r, `Bearer ${token}`);
        const body = res.json();
        if (res.statusCode !== 401 || !['invalid-token', 'unknown-organisation'].includes(body.code) || !res.headers['www-authenticate']) {
          failures.push(`${what} on ${key(r)} → ${res.statusCode} ${body.code}`);
        }
        // The refusal names no claim value, key or library message an attacker could tune against.
        if (/ERR_|jose|signature verification|evil/i.test(res.body)) failures.push(`${what} on ${key(r)} leaks ${res.body}`);
      }
    }
    expect(failures).toEqual([]);
    expect(samples.map((r) => r.url.split('/')[2])).toEqual(expect.arrayContaining(['cases', 'returns', 'proceedings', 'ledger', 'organisations']));
  });

  it('takes a token only from the Authorization header', async () => {
    const good = await forge();
    for (const r of samples) {
      const inQuery = await stack.app.inject({ method: 'GET', url: `${r.url.replace(/:([A-Za-z0-9_]+)/g, '019a0000-0000-7000-8000-000000000001')}?access_token=${good}` });
      expect(inQuery.statusCode, key(r)).toBeOneOf([400, 401]);
      const inCookie = await stack.app.inject({ method: 'GET', url: r.url.replace(/:([A-Za-z0-9_]+)/g, '019a0000-0000-7000-8000-000000000001'), headers: { cookie: `token=${good}` } });
      expect(inCookie.statusCode, key(r)).toBe(401);
    }
  });

  it('logs the reason of a refusal for operators, never the token', async () => {
    const token = await forge({ claims: { aud: 'another-api' } });
    const before = stack.logs.length;
    await statusOf(samples[0]!, `Bearer ${token}`);
    const lines = stack.logs.slice(before).join('\n');
    expect(lines).toContain('token refused');
    expect(lines).not.toContain(token.split('.')[1]!);
    expect(lines).not.toContain(token.split('.')[2]!);
  });
});

describe('keys rotated at the identity provider', () => {
  it('accepts a new key without a restart and refuses a removed one', async () => {
    const next = await generateKeyPair('ES256', { extractable: true });
    const kid = `k2-${randomUUID()}`;
    const tokenNew = await forge({ signWith: next.privateKey, kid });
    const tokenOld = await forge();
    const route = samples.find((r) => r.url === '/v1/cases') ?? samples[0]!;
    expect((await statusOf(route, `Bearer ${tokenNew}`)).statusCode).toBe(401);

    jwks = { keys: [...jwks.keys, { ...(await exportJWK(next.publicKey)), kid, alg: 'ES256', use: 'sig' }] };
    await until('the new key to be accepted', async () => (await statusOf(route, `Bearer ${tokenNew}`)).statusCode === 200, 10_000);
    expect((await statusOf(route, `Bearer ${tokenOld}`)).statusCode).toBe(200);

    jwks = { keys: jwks.keys.filter((k) => k.kid === kid) };
    current = { privateKey: next.privateKey, kid };
    await until('the removed key to be refused', async () => (await statusOf(route, `Bearer ${tokenOld}`)).statusCode === 401, 10_000);
    expect((await statusOf(route, `Bearer ${tokenNew}`)).statusCode).toBe(200);
  });

  it('refuses every request once the provider is unreachable (fails closed), and recovers when it is back', async () => {
    const route = samples.find((r) => r.url === '/v1/cases') ?? samples[0]!;
    const token = await forge({ signWith: current!.privateKey, kid: current!.kid });
    expect((await statusOf(route, `Bearer ${token}`)).statusCode).toBe(200);
    providerDown = true;
    const refused = await until(
      'requests to be refused without keys',
      async () => {
        const res = await statusOf(route, `Bearer ${token}`);
        return res.statusCode === 503 ? res : undefined;
      },
      10_000,
    );
    expect(refused.json()).toMatchObject({ status: 503, code: 'auth-unavailable' });
    // Every service, not only the first one asked.
    for (const r of samples) expect((await statusOf(r, `Bearer ${token}`)).statusCode, key(r)).toBe(503);
    providerDown = false;
    await until('keys to be fetched again', async () => (await statusOf(route, `Bearer ${token}`)).statusCode === 200, 10_000);
  });
});
