/**
 * The front door of a distributed deployment: one base URL for partners, routing each path to the
 * service that owns it. It forwards requests unchanged (the services authenticate, authorise,
 * limit and validate: the gateway holds no secret and makes no access decision), serves the whole
 * OpenAPI document and a readiness that covers every service.
 *
 *   TRM_REFERRALS_URL=http://referrals:8080 … node apps/trm/dist/gateway.js
 *
 * Services behind it see the gateway as the client address: set their TRUST_PROXY to the
 * gateway's address so per-address limits see the partner.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import proxy from '@fastify/http-proxy';
import type { ServiceName } from '@trm/contracts';
import Fastify, { type FastifyInstance } from 'fastify';
import { OPENAPI_FILE } from './openapi.js';

/** Path prefixes and the service that owns them (checked against the OpenAPI document's tags by a test). */
export const GATEWAY_ROUTES: ReadonlyArray<{ prefix: string; service: ServiceName }> = [
  { prefix: '/v1/cases', service: 'referrals' },
  { prefix: '/v1/deadlines', service: 'referrals' },
  { prefix: '/v1/organisations', service: 'referrals' },
  { prefix: '/v1/webhooks', service: 'referrals' },
  { prefix: '/problems', service: 'referrals' },
  { prefix: '/v1/returns', service: 'repatriation' },
  { prefix: '/v1/proceedings', service: 'proceedings' },
  { prefix: '/v1/statistics', service: 'statistics' },
  { prefix: '/v1/ledger', service: 'ledger' },
];

export type Upstreams = Record<ServiceName, string>;

export function upstreamsFromEnv(env: NodeJS.ProcessEnv = process.env): Upstreams {
  const names: ServiceName[] = ['referrals', 'repatriation', 'proceedings', 'statistics', 'ledger'];
  const missing = names.filter((n) => !env[`TRM_${n.toUpperCase()}_URL`]);
  if (missing.length > 0) throw new Error(`set ${missing.map((n) => `TRM_${n.toUpperCase()}_URL`).join(', ')}`);
  return Object.fromEntries(names.map((n) => [n, env[`TRM_${n.toUpperCase()}_URL`]!])) as Upstreams;
}

const problem = (status: number, code: string, title: string, detail: string) => ({ type: `/problems/${code}`, title, status, detail, code });

export async function createGateway(opts: { upstreams: Upstreams; openapiFile?: string; readinessTimeoutMs?: number }): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, trustProxy: false });
  const document = await readFile(opts.openapiFile ?? OPENAPI_FILE, 'utf8');
  for (const { prefix, service } of GATEWAY_ROUTES) {
    await app.register(proxy, {
      upstream: opts.upstreams[service],
      prefix,
      rewritePrefix: prefix,
    });
  }
  app.get('/openapi.json', async (_req, reply) => reply.type('application/json').send(document));
  app.get('/health/live', async () => ({ status: 'live' }));
  app.get('/health/ready', async (_req, reply) => {
    const timeout = opts.readinessTimeoutMs ?? 2_000;
    const results = await Promise.all(
      Object.entries(opts.upstreams).map(async ([service, url]) => {
        try {
          const res = await fetch(new URL('/health/ready', url), { signal: AbortSignal.timeout(timeout) });
          return { service, ready: res.ok };
        } catch {
          return { service, ready: false };
        }
      }),
    );
    const down = results.filter((r) => !r.ready).map((r) => r.service);
    if (down.length > 0) return reply.code(503).type('application/problem+json').send({ ...problem(503, 'not-ready', 'Not ready', `not ready: ${down.join(', ')}`), services: results });
    return { status: 'ready', services: results };
  });
  app.setNotFoundHandler(async (_req, reply) => reply.code(404).type('application/problem+json').send(problem(404, 'not-found', 'Not found', 'No such resource.')));
  return app;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  let upstreams: Upstreams;
  try {
    upstreams = upstreamsFromEnv();
  } catch (err) {
    process.stderr.write(`gateway: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const app = await createGateway({ upstreams });
  const port = Number(process.env.PORT ?? 8080);
  await app.listen({ port, host: process.env.HOST ?? '127.0.0.1' });
  const stop = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
