import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { z } from 'zod';
import type { Authenticator } from './auth.js';
import { Role, type Principal } from './identity.js';
import { ProblemError, forbidden } from './problems.js';

/**
 * Declared on every route as `config.access`; a route without one stops the app from starting.
 * `registryOperator: true` admits the roles only in an organisation that operates the registry
 * (`Principal.registryOperator`): an `admin` of a partner organisation is refused there.
 */
export type AccessRule = { public: true } | { roles: readonly Role[]; registryOperator?: true };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessRule;
  }
  interface FastifyRequest {
    /** The authenticated caller. Reading it on a public route throws a 401. */
    readonly principal: Principal;
  }
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** A route as the access control saw it when it was added. */
export interface RouteAccess {
  method: string;
  url: string;
  rule: AccessRule;
}

const routeTables = new WeakMap<FastifyInstance, RouteAccess[]>();

/**
 * Every route of the app with its access rule, in the order they were added, so tests (the
 * authorization matrix) and tools cover routes that did not exist when they were written.
 */
export function routeAccessTable(app: FastifyInstance): readonly RouteAccess[] {
  return routeTables.get(app) ?? [];
}

function checkRule(rule: unknown, where: string): AccessRule {
  if (rule === undefined) {
    throw new Error(`Route ${where} declares no access rule: add config.access = { public: true } or { roles: [...] }`);
  }
  if (typeof rule === 'object' && rule !== null) {
    if ('public' in rule && rule.public === true && Object.keys(rule).length === 1) return rule as AccessRule;
    const extra = Object.keys(rule).filter((k) => k !== 'roles');
    const flagOk = extra.length === 0 || (extra.length === 1 && extra[0] === 'registryOperator' && (rule as { registryOperator?: unknown }).registryOperator === true);
    if ('roles' in rule && Array.isArray(rule.roles) && flagOk) {
      const roles = rule.roles as unknown[];
      if (roles.length > 0 && roles.every((r) => Role.safeParse(r).success)) return rule as AccessRule;
    }
  }
  throw new Error(`Route ${where} has an invalid config.access: expected { public: true } or a non-empty { roles: [...], registryOperator?: true }`);
}

/**
 * Deny by default: every route must say who may call it, checked once when the route is added
 * (as @fastify/rate-limit reads `config.rateLimit`). `publicPrefixes` covers routes added by
 * third-party plugins (the docs UI) that cannot carry our config.
 */
export function installAccessControl(
  app: FastifyInstance,
  authenticator: Authenticator,
  publicPrefixes: readonly string[],
  failureLimit?: { max: number; timeWindowMs: number },
): void {
  const failures = failureLimit ? createFailureCounter(failureLimit) : undefined;
  app.decorateRequest('principal', {
    getter(this: FastifyRequest): Principal {
      const principal = principals.get(this);
      if (!principal) throw new ProblemError(401, 'unauthenticated', 'This endpoint needs a bearer token.');
      return principal;
    },
  });

  const table: RouteAccess[] = [];
  routeTables.set(app, table);
  app.addHook('onRoute', (route: RouteOptions) => {
    const url = route.url;
    const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
    if (route.config?.access === undefined && publicPrefixes.some((p) => url === p || url.startsWith(`${p}/`))) {
      route.config = { ...route.config, access: { public: true }, rateLimit: false } as typeof route.config;
    }
    const rule = checkRule(route.config?.access, `${methods} ${url}`);
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) table.push({ method, url, rule });
    if ('public' in rule) {
      // Shown as needing no token in the OpenAPI document.
      route.schema = { ...route.schema, security: [] } as typeof route.schema;
    } else if (route.schema?.querystring === undefined) {
      // Unknown fields are refused, in the query too: a route that takes no query says so, and a
      // name typed into a search box of a client is refused rather than silently carried along.
      route.schema = { ...route.schema, querystring: z.strictObject({}) } as typeof route.schema;
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    // Unknown URLs get a plain 404 whoever asks: it discloses nothing the OpenAPI document does not.
    if (request.is404) return;
    const rule = request.routeOptions.config.access;
    if (!rule) throw forbidden();
    if ('public' in rule) return;
    let principal: Principal;
    try {
      principal = await authenticator.authenticate(request.headers.authorization);
    } catch (err) {
      // The per-organisation rate limit needs a principal, so requests that never get one (no,
      // malformed, forged or expired tokens) are budgeted per address here. The budget counts and
      // answers refused requests only: a valid token is never blocked by it, so a flood of bad
      // tokens from behind a partner's proxy cannot lock out the colleagues behind that proxy.
      if (failures && err instanceof ProblemError && err.status === 401) {
        const retryAfterS = failures.refuse(request.ip);
        if (retryAfterS !== undefined) {
          reply.header('retry-after', String(retryAfterS));
          throw new ProblemError(429, 'rate-limited', 'Too many refused requests from this address; retry later.');
        }
      }
      throw err;
    }
    principals.set(request, principal);
    if (!rule.roles.some((r) => principal.roles.includes(r))) throw forbidden();
    if (rule.registryOperator && !principal.registryOperator) {
      throw forbidden('Only the organisation operating the registry may do this.');
    }
  });
}

/** For services that vary by role inside one route. */
export function hasRole(request: FastifyRequest, ...roles: Role[]): boolean {
  const p = principals.get(request);
  return p !== undefined && roles.some((r) => p.roles.includes(r));
}

/** The caller if the request was authenticated, without throwing on public routes. */
export function principalOf(request: FastifyRequest): Principal | undefined {
  return principals.get(request);
}

/**
 * Refused authentications per address in fixed windows. Bounded: past `maxAddresses` the oldest
 * entries go first, so a flood of spoofed sources cannot grow memory without end.
 */
function createFailureCounter(limit: { max: number; timeWindowMs: number }, maxAddresses = 10_000) {
  const windows = new Map<string, { count: number; resetAt: number }>();
  return {
    /**
     * Counts one refused request from `ip`; answers the seconds until its window resets once the
     * address has spent its budget (this request included beyond `max`), undefined before.
     */
    refuse(ip: string): number | undefined {
      const now = Date.now();
      let w = windows.get(ip);
      if (!w || w.resetAt <= now) {
        if (w) windows.delete(ip);
        if (windows.size >= maxAddresses) windows.delete(windows.keys().next().value!);
        w = { count: 0, resetAt: now + limit.timeWindowMs };
        windows.set(ip, w);
      }
      w.count++;
      return w.count > limit.max ? Math.max(1, Math.ceil((w.resetAt - now) / 1000)) : undefined;
    },
  };
}
