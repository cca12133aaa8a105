import { stat, readFile } from 'node:fs/promises';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWK, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { DEFAULT_REGISTRY_OPERATORS, OrgType, Role, type OrgDirectory, type Principal } from './identity.js';
import { ProblemError } from './problems.js';

export type JwksSource =
  /**
   * An identity provider's JWKS endpoint. Keys are cached at most `cacheMaxAgeMs` (default 60 s):
   * a key the provider removed (perhaps compromised) is refused within that time. An unknown `kid`
   * refetches at most every `cooldownMs` (default 30 s), so a new key works without a restart.
   */
  | { url: string; timeoutMs?: number; cooldownMs?: number; cacheMaxAgeMs?: number }
  /**
   * Re-read when its inode, size or mtime changes, checked at most every `checkIntervalMs`
   * (default 2000), so keys rotate without a restart. Replace it atomically (write + rename):
   * a half-written file refuses every token until the next check.
   */
  | { file: string; checkIntervalMs?: number }
  | { keys: JWK[] };

export interface AuthOptions {
  jwks: JwksSource;
  issuer: string;
  audience: string;
  /** Asymmetric only: an HMAC algorithm here would let anyone holding the public key sign. */
  algorithms?: string[];
}

export const DEFAULT_ALGORITHMS = ['ES256', 'EdDSA', 'RS256'];
const CLOCK_TOLERANCE_S = 30;
const REQUIRED_CLAIMS = ['exp', 'iat', 'iss', 'aud', 'sub'];
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i;
const MAX_TOKEN_LENGTH = 8192;

/** The keys could not be obtained: we refuse everything rather than guess. */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

const TokenClaims = z.object({
  sub: z.string().min(1).max(255),
  org: z.string().min(1).max(63),
  org_type: OrgType,
  roles: z.array(Role).max(Role.options.length),
});

export function createKeyResolver(source: JwksSource): JWTVerifyGetKey {
  if ('keys' in source) return createLocalJWKSet({ keys: source.keys });
  if ('url' in source) {
    const remote = createRemoteJWKSet(new URL(source.url), {
      timeoutDuration: source.timeoutMs ?? 5000,
      cooldownDuration: source.cooldownMs ?? 30_000,
      // jose keeps keys 10 minutes by default: too long for a key the provider revoked.
      cacheMaxAge: source.cacheMaxAgeMs ?? 60_000,
    });
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        if (isTokenFault(err)) throw err;
        throw new JwksUnavailableError('Remote JWKS could not be fetched', { cause: err });
      }
    };
  }
  return fileKeyResolver(source.file, source.checkIntervalMs ?? 2000);
}

function isTokenFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' || code === 'ERR_JOSE_NOT_SUPPORTED';
}

function fileKeyResolver(file: string, checkIntervalMs: number): JWTVerifyGetKey {
  let loaded: { signature: string; getKey: ReturnType<typeof createLocalJWKSet> } | undefined;
  let checkedAt = 0;
  let failed = false;
  let refreshing: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    try {
      const st = await stat(file);
      const signature = `${st.ino}:${st.size}:${st.mtimeMs}`;
      if (loaded?.signature !== signature) {
        const jwks = JSON.parse(await readFile(file, 'utf8')) as { keys: JWK[] };
        loaded = { signature, getKey: createLocalJWKSet(jwks) };
      }
      failed = false;
    } catch (err) {
      // Keeping the previous keys would keep a removed (perhaps compromised) key valid.
      failed = true;
      throw new JwksUnavailableError(`JWKS file ${file} could not be read`, { cause: err });
    } finally {
      checkedAt = Date.now();
    }
  }

  return async (header, token) => {
    if (!loaded || failed || Date.now() - checkedAt >= checkIntervalMs) {
      refreshing ??= refresh().finally(() => {
        refreshing = undefined;
      });
      await refreshing;
    }
    return loaded!.getKey(header, token);
  };
}

export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal>;
}

export function createAuthenticator(
  opts: AuthOptions,
  orgs: OrgDirectory,
  log?: { info(obj: object, msg: string): void },
  registryOperators: readonly string[] = DEFAULT_REGISTRY_OPERATORS,
): Authenticator {
  const operators = new Set(registryOperators);
  const getKey = createKeyResolver(opts.jwks);
  const algorithms = opts.algorithms ?? DEFAULT_ALGORITHMS;
  if (algorithms.some((a) => /^HS/i.test(a) || a.toLowerCase() === 'none')) {
    throw new Error('Only asymmetric JWT algorithms may be allowed');
  }

  const refuse = (reason: string, detail = 'The bearer token was refused.') => {
    log?.info({ authFailure: reason }, 'token refused');
    return new ProblemError(401, 'invalid-token', detail);
  };

  return {
    async authenticate(authorization) {
      if (!authorization) throw new ProblemError(401, 'unauthenticated', 'This endpoint needs a bearer token.');
      const match = authorization.length <= MAX_TOKEN_LENGTH ? BEARER.exec(authorization) : null;
      if (!match) throw refuse('malformed', 'The Authorization header must be `Bearer <JWT>`.');

      let verified;
      try {
        verified = await jwtVerify(match[1]!, getKey, {
          algorithms,
          issuer: opts.issuer,
          audience: opts.audience,
          requiredClaims: REQUIRED_CLAIMS,
          clockTolerance: CLOCK_TOLERANCE_S,
        });
      } catch (err) {
        if (err instanceof JwksUnavailableError) {
          log?.info({ authFailure: 'jwks-unavailable', err: err.cause }, 'token keys unavailable');
          throw new ProblemError(503, 'auth-unavailable');
        }
        throw refuse((err as { code?: string }).code ?? 'unknown');
      }

      const typ = verified.protectedHeader.typ?.toLowerCase().replace(/^application\//, '');
      if (typ !== undefined && typ !== 'jwt' && typ !== 'at+jwt') throw refuse('typ');

      const claims = TokenClaims.safeParse(verified.payload);
      if (!claims.success) throw refuse('claims', 'The token lacks valid org, org_type, roles or sub claims.');

      const org = await orgs.get(claims.data.org);
      if (!org || !org.active || org.type !== claims.data.org_type) {
        log?.info({ authFailure: 'organisation', org: claims.data.org }, 'organisation refused');
        throw new ProblemError(401, 'unknown-organisation', 'The organisation in the token is unknown, inactive or of another type.');
      }
      return {
        subject: claims.data.sub,
        orgId: org.id,
        orgType: org.type,
        country: org.country,
        parentOrgId: org.parentId,
        roles: [...new Set(claims.data.roles)],
        registryOperator: operators.has(org.id),
      };
    },
  };
}
