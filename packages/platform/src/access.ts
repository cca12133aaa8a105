import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { z } from 'zod';
import type { Authenticator } from './auth.js';
import { Role, type Principal } from './identity.js';
import { ProblemError, forbidden } from './problems.js';

/** Declared on every route as `config.access`; a route without one stops the app from starting. */
export type AccessRule = { public: true } | { roles: readonly Role[] };

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
    if ('roles' in rule && Array.isArray(rule.roles) && Object.keys(rule).length === 1) {
      const roles = rule.roles as unknown[];
      if (roles.length > 0 && roles.every((r) => Role.safeParse(r).success)) return rule as AccessRule;
    }
  }
  throw new Error(`Route ${where} has an invalid config.access: expected { public: true } or a non-empty { roles: [...] }`);
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

  app.addHook('onRequest', async (request) => {
    // Unknown URLs get a plain 404 whoever asks: it discloses nothing the OpenAPI document does not.
    if (request.is404) return;
    const rule = request.routeOptions.config.access;
    if (!rule) throw forbidden();
    if ('public' in rule) return;
    // The per-organisation rate limit needs a principal, so requests that never get one (no,
    // forged or expired tokens) are budgeted per address here, before any signature is checked.
    if (failures?.exceeded(request.ip)) throw new ProblemError(429, 'rate-limited', 'Too many refused requests from this address; retry later.');
    let principal: Principal;
    try {
      principal = await authenticator.authenticate(request.headers.authorization);
    } catch (err) {
      if (err instanceof ProblemError && err.status === 401) failures?.record(request.ip);
      throw err;
    }
    principals.set(request, principal);
    if (!rule.roles.some((r) => principal.roles.includes(r))) throw forbidden();
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
  const current = (ip: string, now: number) => {
    const w = windows.get(ip);
    if (w && w.resetAt > now) return w;
    if (w) windows.delete(ip);
    return undefined;
  };
  return {
    exceeded(ip: string): boolean {
      return (current(ip, Date.now())?.count ?? 0) >= limit.max;
    },
    record(ip: string): void {
      const now = Date.now();
      const w = current(ip, now);
      if (w) {
        w.count++;
        return;
      }
      if (windows.size >= maxAddresses) windows.delete(windows.keys().next().value!);
      windows.set(ip, { count: 1, resetAt: now + limit.timeWindowMs });
    },
  };
}
