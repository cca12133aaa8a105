import { randomUUID } from 'node:crypto';
import { type AccessRule, type App, type Role, routeAccessTable } from '@trm/platform';
import type { World } from './world.js';

/**
 * Routes anyone may call without a token. A route that turns public without being added here
 * fails the matrix: making victims' data reachable without a token must be a reviewed decision.
 */
export const PUBLIC_ROUTES = new Set([
  'GET /openapi.json',
  'GET /health/live',
  'GET /health/ready',
  'GET /problems',
  'GET /problems/:code',
  // The public key webhook notifications are verified with (JWKS): nothing about any case.
  'GET /v1/webhooks/keys',
]);
/** Added by @fastify/swagger-ui: static documentation assets. */
export const PUBLIC_PREFIXES = ['/docs'];

/**
 * Routes readable across cases by whole organisation types, by design: the structure of the
 * ledger (indexes, leaf hashes, heads, proofs: no event) for auditors and every national contact
 * point (issues 6 and 15). Any other organisation type is refused (403), whatever its role. A
 * case's ledger (`/v1/ledger/cases/…`) is not among them: its participants only, 404 to anyone
 * else exactly as for an unknown case (issue 15, finding 1).
 */
export const ORG_WIDE: Array<{ prefix: string; except?: string; orgTypes: string[]; why: string }> = [
  { prefix: '/v1/ledger/', except: '/v1/ledger/cases/', orgTypes: ['auditor', 'national_contact_point'], why: 'the structure of the log, never an event, is verified whole by auditors and contact points' },
];

/** Path parameters that name (or sit inside) one case: a non-participant must get 404 through them. */
export const CASE_PARAMS = new Set(['caseId', 'returnId']);

export interface ApiRoute {
  method: string;
  /** Fastify pattern, e.g. /v1/cases/:caseId */
  url: string;
  rule: AccessRule;
  params: string[];
  /** Example request body from the OpenAPI document. */
  example: Record<string, unknown> | undefined;
  /** Property names the body schema declares. */
  bodyProperties: string[];
  query: Array<{ name: string; required: boolean; schema: Record<string, unknown> }>;
  hasBody: boolean;
}

const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

interface OpenApiOperation {
  requestBody?: { content?: Record<string, { example?: unknown; schema?: { properties?: Record<string, unknown>; $ref?: string } }> };
  parameters?: Array<{ in: string; name: string; required?: boolean; schema?: Record<string, unknown> }>;
}

/** Every route of the running app with its access rule and what the OpenAPI document says of it. */
export function apiRoutes(app: App): ApiRoute[] {
  const doc = app.swagger() as { paths: Record<string, Record<string, OpenApiOperation>>; components?: { schemas?: Record<string, { properties?: Record<string, unknown> }> } };
  const routes: ApiRoute[] = [];
  for (const { method, url, rule } of routeAccessTable(app)) {
    if (method === 'HEAD' || method === 'OPTIONS') continue;
    if (PUBLIC_PREFIXES.some((p) => url === p || url.startsWith(`${p}/`))) continue;
    const op = doc.paths[toOpenApiPath(url)]?.[method.toLowerCase()];
    const json = op?.requestBody?.content?.['application/json'];
    const ref = json?.schema?.$ref?.split('/').at(-1);
    const properties = json?.schema?.properties ?? (ref ? doc.components?.schemas?.[ref]?.properties : undefined) ?? {};
    routes.push({
      method,
      url,
      rule,
      params: [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!),
      example: json?.example as Record<string, unknown> | undefined,
      bodyProperties: Object.keys(properties),
      query: (op?.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ name: p.name, required: p.required === true, schema: p.schema ?? {} })),
      hasBody: json !== undefined,
    });
  }
  return routes;
}

export const key = (r: { method: string; url: string }) => `${r.method} ${r.url}`;

export function rolesOf(rule: AccessRule): readonly Role[] {
  return 'roles' in rule ? rule.roles : [];
}

export function isPerCase(route: ApiRoute): boolean {
  return route.params.some((p) => CASE_PARAMS.has(p)) || route.bodyProperties.includes('caseId');
}

export function orgWide(route: ApiRoute) {
  return ORG_WIDE.find((o) => route.url.startsWith(o.prefix) && !(o.except && route.url.startsWith(o.except)));
}

/** A concrete URL for the route: the world's real ids, harmless values for the rest. */
export function concreteUrl(route: ApiRoute, world: World): string {
  const values: Record<string, string> = {
    caseId: world.caseId,
    returnId: world.returnId,
    referralId: world.referralId,
    informationRequestId: world.informationRequestId,
    criminalCaseId: world.criminalCaseId,
    assessmentId: world.assessmentId,
    claimId: randomUUID(),
    eventId: randomUUID(),
    orgId: 'ngo-it',
    index: '0',
    treeSize: '1',
    code: 'not-found',
    figure: 'victims-notified',
    year: '2026',
    table: 'registered-victims-by-sex-and-age',
    // A webhook subscription and delivery are the caller's organisation's own (another's: 404).
    webhookId: randomUUID(),
    deliveryId: randomUUID(),
  };
  const path = route.url.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    const value = values[name];
    // A new kind of path parameter must be taught to the matrix, not silently skipped.
    if (value === undefined) throw new Error(`${key(route)}: the authorization matrix does not know path parameter "${name}"`);
    return encodeURIComponent(value);
  });
  const query = [
    ...route.query.filter((q) => q.required).map((q) => `${q.name}=${encodeURIComponent(sampleValue(q.schema))}`),
    ...(EXTRA_QUERY[key(route)] ?? []),
  ].join('&');
  return query ? `${path}?${query}` : path;
}

/** Reads whose query needs one of several optional parameters (the schema cannot say which). */
const EXTRA_QUERY: Record<string, string[]> = {
  'GET /v1/ledger/cases/:caseId/state': ['atIndex=0'],
};

function sampleValue(schema: Record<string, unknown>): string {
  const e = schema.enum as unknown[] | undefined;
  if (e?.[0] !== undefined) return String(e[0]);
  const anyOf = (schema.anyOf ?? schema.oneOf) as Array<Record<string, unknown>> | undefined;
  if (anyOf?.[0]) return sampleValue(anyOf[0]);
  if (schema.type === 'integer' || schema.type === 'number') return String(schema.minimum ?? 1);
  if (schema.type === 'boolean') return 'true';
  return 'x';
}

/** The route's example body, its case id replaced by the world's. */
export function exampleBody(route: ApiRoute, world: World): Record<string, unknown> | undefined {
  if (!route.example) return undefined;
  return 'caseId' in route.example ? { ...route.example, caseId: world.caseId } : { ...route.example };
}

/**
 * Every free-text string of every request body (no enum or format, no pattern or one that admits
 * words), as
 * `METHOD /path /pointer`: a field where a user can type a name. Generated from the running app's
 * OpenAPI document, so a field added later shows up.
 */
export function freeTextFields(app: App): string[] {
  const doc = app.swagger() as { paths: Record<string, Record<string, OpenApiOperation>>; components?: { schemas?: Record<string, unknown> } };
  const components = (doc.components?.schemas ?? {}) as Record<string, Record<string, unknown>>;
  const out: string[] = [];
  const walk = (s: Record<string, unknown> | undefined, pointer: string, seen: Set<string>, into: string[]) => {
    if (!s || typeof s !== 'object') return;
    if (typeof s.$ref === 'string') {
      const name = s.$ref.split('/').at(-1)!;
      if (seen.has(name)) return;
      walk(components[name], pointer, new Set([...seen, name]), into);
      return;
    }
    for (const k of ['anyOf', 'oneOf', 'allOf']) for (const x of (s[k] as Array<Record<string, unknown>> | undefined) ?? []) walk(x, pointer, seen, into);
    for (const [k, v] of Object.entries((s.properties as Record<string, Record<string, unknown>> | undefined) ?? {})) walk(v, `${pointer}/${k}`, seen, into);
    if (s.items) walk(s.items as Record<string, unknown>, `${pointer}/*`, seen, into);
    // A pattern that admits letters and spaces still admits "Ana Popescu".
    const wordy = s.pattern === undefined || /\\p\{L\}| |\\s|\.\*/.test(String(s.pattern));
    if (s.type === 'string' && s.enum === undefined && s.format === undefined && s.const === undefined && wordy) into.push(pointer);
  };
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const schema = op.requestBody?.content?.['application/json']?.schema as Record<string, unknown> | undefined;
      const found: string[] = [];
      walk(schema, '', new Set(), found);
      for (const pointer of new Set(found)) out.push(`${method.toUpperCase()} ${path} ${pointer}`);
    }
  }
  return out.sort();
}
