import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import underPressure from '@fastify/under-pressure';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { DestinationStream, LoggerOptions } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { installAccessControl, principalOf } from './access.js';
import { createAuthenticator, type AuthOptions } from './auth.js';
import { DEFAULT_REGISTRY_OPERATORS, type OrgDirectory } from './identity.js';
import { genReqId, loggerOptions } from './logging.js';
import { createMetricsRegistry, installHttpMetrics } from './metrics.js';
import { installProblemHandlers } from './problem-handler.js';
import { completeContract } from './contract.js';
import { ProblemError, problemCode, problemCodes } from './problems.js';
import { validatorCompiler } from './validation.js';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

export interface ReadinessCheck {
  name: string;
  /** Resolves when the dependency is usable; throws (or times out) when not. */
  check(): Promise<void>;
}

export interface CreateAppOptions {
  /** pino options (plus an optional destination `stream`), or false for silence. */
  logger: (LoggerOptions & { stream?: DestinationStream }) | false;
  auth: AuthOptions;
  orgs: OrgDirectory;
  readiness?: ReadinessCheck[];
  readinessTimeoutMs?: number;
  metrics?: Registry;
  /** Bytes; default 256 KiB. */
  bodyLimit?: number;
  /** Per organisation (per IP on public routes); default 600 per minute. */
  rateLimit?: { max: number; timeWindowMs: number };
  /**
   * Deadline for receiving a whole request (headers and body), enforced by Node's HTTP server with
   * a 408; default 30 s. Stops slow-loris clients from holding sockets and memory.
   */
  requestTimeoutMs?: number;
  /** Idle socket timeout; default 60 s. */
  connectionTimeoutMs?: number;
  /**
   * Load shedding with @fastify/under-pressure: above these limits every request but liveness and
   * metrics gets a 503 `overloaded` problem with Retry-After; false disables it.
   */
  pressure?: PressureLimits | false;
  trustProxy?: boolean | string | string[];
  /**
   * Organisations that operate the registry (policy `TRM_REGISTRY_OPERATORS`; default ANITP):
   * only their `admin` and `operator` roles reach registry administration and `/metrics`.
   */
  registryOperators?: readonly string[];
  openapi: { title: string; version: string; description?: string };
}

export interface PressureLimits {
  /** Mean event loop delay over a sample, in ms; default 1000. */
  maxEventLoopDelayMs?: number;
  /** Default: none (0). */
  maxHeapUsedBytes?: number;
  /** Default: none (0). */
  maxRssBytes?: number;
  /** How often the process is sampled; default 1000 ms. */
  sampleIntervalMs?: number;
  /** Seconds the 503 tells clients to wait; default 10. */
  retryAfterS?: number;
}

class OverloadedError extends ProblemError {
  constructor() {
    super(503, 'overloaded', 'The service is overloaded; nothing was written. Retry later.');
  }
}

const DOCS_PREFIX = '/docs';
const INFRA = { access: { public: true }, rateLimit: false } as const;
// An overloaded process is still alive: answering liveness with 503 would get it restarted and
// move its load onto the other replicas. Readiness does shed, so the balancer routes around it.
const ALWAYS_ANSWER = { ...INFRA, pressureHandler: () => undefined } as const;
// Live counts of notifications, erasures and personal-data reads are operational data of the
// registry operator: its `operator` role only. Never shed, never rate-limited (a scraper must see
// an overload), never public.
const METRICS = { access: { roles: ['operator'], registryOperator: true }, rateLimit: false, pressureHandler: () => undefined } as const;

/**
 * Builds the HTTP shell every service plugs into. Async because plugin order matters: helmet's
 * headers must be set before our auth hook can refuse a request, and the access and swagger
 * onRoute hooks must exist before any service route is added.
 */
export async function createApp(opts: CreateAppOptions): Promise<App> {
  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    logger: loggerOptions(opts.logger),
    genReqId,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    bodyLimit: opts.bodyLimit ?? 256 * 1024,
    requestTimeout,
    connectionTimeout: opts.connectionTimeoutMs ?? 60_000,
    // Node checks request deadlines only every connectionsCheckingInterval (30 s by default), which
    // would let a short deadline run up to 30 s late; headers must arrive within the deadline too.
    http: {
      requestTimeout,
      headersTimeout: Math.min(requestTimeout, 60_000),
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(requestTimeout / 4))),
    },
    trustProxy: opts.trustProxy ?? false,
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandlers(app);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  await app.register(helmet, { global: true });
  if (opts.pressure !== false) {
    const p = opts.pressure ?? {};
    await app.register(underPressure, {
      maxEventLoopDelay: p.maxEventLoopDelayMs ?? 1000,
      maxHeapUsedBytes: p.maxHeapUsedBytes ?? 0,
      maxRssBytes: p.maxRssBytes ?? 0,
      sampleInterval: p.sampleIntervalMs ?? 1000,
      retryAfter: p.retryAfterS ?? 10,
      customError: OverloadedError,
    });
  }

  const limit = opts.rateLimit ?? { max: 600, timeWindowMs: 60_000 };
  installAccessControl(app, createAuthenticator(opts.auth, opts.orgs, app.log, opts.registryOperators ?? DEFAULT_REGISTRY_OPERATORS), [DOCS_PREFIX], limit);
  // Answers to authenticated requests (case files, personal data, the criminal case's reference)
  // and their refusals must not be kept by browsers or shared caches. A route may set its own
  // (the ledger's immutable tiles: `private, immutable`).
  app.addHook('onSend', async (request, reply, payload) => {
    const rule = request.is404 ? undefined : request.routeOptions.config?.access;
    if (rule && !('public' in rule) && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
  const metrics = opts.metrics ?? createMetricsRegistry();
  installHttpMetrics(app, metrics);

  await app.register(rateLimit, {
    global: true,
    max: limit.max,
    timeWindow: limit.timeWindowMs,
    // After authentication, so the budget is the organisation's, and before the body is parsed.
    hook: 'preParsing',
    keyGenerator: (request) => {
      const principal = principalOf(request);
      return principal ? `org:${principal.orgId}` : `ip:${request.ip}`;
    },
    errorResponseBuilder: (_request, ctx) => new ProblemError(429, 'rate-limited', `Retry in ${ctx.after}.`),
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: opts.openapi.title, version: opts.openapi.version, description: opts.openapi.description },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearerAuth: [] }],
    },
    transform: jsonSchemaTransform,
    // The routes' documents, completed: operationIds, tags, problem responses, servers (contract.ts).
    transformObject: (documentObject) => completeContract(jsonSchemaTransformObject(documentObject) as Record<string, any>) as never,
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX, staticCSP: true });

  app.get('/openapi.json', { config: INFRA, schema: { hide: true } }, async () => app.swagger());
  app.get('/health/live', { config: ALWAYS_ANSWER, schema: { hide: true } }, async () => ({ status: 'live' }));

  const checks = opts.readiness ?? [];
  const readinessTimeoutMs = opts.readinessTimeoutMs ?? 3000;
  app.get('/health/ready', { config: INFRA, schema: { hide: true } }, async (request) => {
    const failed: string[] = [];
    await Promise.all(
      checks.map(async ({ name, check }) => {
        try {
          await withTimeout(check(), readinessTimeoutMs);
        } catch (err) {
          request.log.warn({ err, check: name }, 'readiness check failed');
          failed.push(name);
        }
      }),
    );
    if (failed.length > 0) throw new ProblemError(503, 'not-ready', `Not ready: ${failed.join(', ')}.`, { failed });
    return { status: 'ready', checks: checks.map((c) => c.name) };
  });

  app.get('/metrics', { config: METRICS, schema: { hide: true } }, async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.metrics();
  });

  app.get('/problems', { config: INFRA, schema: { hide: true } }, async () =>
    [...problemCodes()].map(([code, def]) => ({ code, type: `/problems/${code}`, ...def })),
  );
  app.get(
    '/problems/:code',
    { config: INFRA, schema: { hide: true, params: z.object({ code: z.string().max(64) }) } },
    async (request, reply) => {
      const def = problemCode(request.params.code);
      if (!def) throw new ProblemError(404, 'not-found', 'No such problem code.');
      const accept = request.headers.accept ?? '';
      if (accept.includes('text/html') && !/application\/(problem\+)?json/.test(accept)) {
        reply.type('text/html; charset=utf-8');
        return problemHtml(request.params.code, def.status, def.title, def.description);
      }
      return { code: request.params.code, type: `/problems/${request.params.code}`, ...def };
    },
  );

  return app;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function problemHtml(code: string, status: number, title: string, description: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>HTTP ${status} · <code>${escapeHtml(code)}</code></p><p>${escapeHtml(description)}</p></body></html>`;
}
