import { randomUUID } from 'node:crypto';
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from './schema.js';

export type { paths, components, operations } from './schema.js';

/** An RFC 9457 problem answered by TRM, as a typed exception: branch on `code`, quote `requestId`. */
export class TrmProblem extends Error {
  override readonly name = 'TrmProblem';
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly requestId: string | undefined;
  /** Conditions not met, by stable code (409 gates). */
  readonly unmet: string[] | undefined;
  /** Invalid fields by JSON pointer (400). */
  readonly errors: Array<{ pointer: string; in?: string; code: string; message: string }> | undefined;
  /** Seconds to wait before retrying (429, 503), from Retry-After. */
  readonly retryAfterSeconds: number | undefined;

  constructor(readonly problem: Record<string, unknown>, response: Response) {
    super(`${String(problem.status ?? response.status)} ${String(problem.code ?? 'unknown')}: ${String(problem.detail ?? problem.title ?? response.statusText)}`);
    this.status = typeof problem.status === 'number' ? problem.status : response.status;
    this.code = typeof problem.code === 'string' ? problem.code : 'unknown';
    this.title = typeof problem.title === 'string' ? problem.title : response.statusText;
    this.detail = typeof problem.detail === 'string' ? problem.detail : '';
    this.requestId = typeof problem.requestId === 'string' ? problem.requestId : undefined;
    this.unmet = Array.isArray(problem.unmet) ? (problem.unmet as string[]) : undefined;
    this.errors = Array.isArray(problem.errors) ? (problem.errors as TrmProblem['errors']) : undefined;
    const retry = Number(response.headers.get('retry-after'));
    this.retryAfterSeconds = Number.isFinite(retry) && retry >= 0 && response.headers.has('retry-after') ? retry : undefined;
  }
}

export interface TrmClientOptions {
  /** e.g. http://127.0.0.1:8080 (make run) or your deployment's front door. */
  baseUrl: string;
  /** The bearer token, or a function that returns a fresh one for every request. */
  token: string | (() => string | Promise<string>);
  /**
   * Retries of a request that did not get an answer, or got 429 or 503: GETs, and POSTs, which
   * always carry an Idempotency-Key (the same one on every retry, so nothing is done twice).
   * Default 3; 0 turns retries off.
   */
  retries?: number;
  fetch?: typeof fetch;
}

export type TrmClient = Client<paths> & {
  /** The version a response's ETag names, for If-Match on the next change. */
  etagOf(response: Response): string | undefined;
  /** Headers for a change based on the version you read: the change is refused (412) if it moved since. */
  ifMatch(etag: string): { 'If-Match': string };
  /** Every item of a cursor-paginated list, page after page. */
  paginate<T>(page: (cursor: string | undefined) => Promise<{ data?: { items: T[]; nextCursor?: string | null } | undefined }>): AsyncGenerator<T>;
};

const RETRYABLE = new Set([429, 503]);

/**
 * A fetch that retries as TrmClientOptions.retries says, waiting Retry-After or a capped
 * exponential backoff. Each attempt sends a fresh copy of the request (a body is read once).
 */
function retryingFetch(base: typeof fetch, retries: number): (input: Request) => Promise<Response> {
  return async (request: Request) => {
    const retryable = request.method === 'GET' || request.headers.has('idempotency-key');
    for (let attempt = 0; ; attempt++) {
      const last = !retryable || attempt >= retries;
      try {
        const response = await base(last ? request : request.clone());
        if (last || !RETRYABLE.has(response.status)) return response;
        const after = Number(response.headers.get('retry-after'));
        await response.body?.cancel();
        await new Promise((r) => setTimeout(r, Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : Math.min(200 * 2 ** attempt, 5_000)));
      } catch (err) {
        if (last) throw err;
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5_000)));
      }
    }
  };
}

export function createTrmClient(options: TrmClientOptions): TrmClient {
  const base = options.fetch ?? globalThis.fetch;
  const client = createClient<paths>({ baseUrl: options.baseUrl, fetch: retryingFetch(base, options.retries ?? 3) });
  const auth: Middleware = {
    async onRequest({ request }) {
      const token = typeof options.token === 'function' ? await options.token() : options.token;
      request.headers.set('authorization', `Bearer ${token}`);
      // Every creating or changing POST is safe to retry: the same key, the same answer.
      if (request.method === 'POST' && !request.headers.has('idempotency-key')) request.headers.set('idempotency-key', randomUUID());
      return request;
    },
    async onResponse({ response }) {
      if (response.ok) return response;
      const type = response.headers.get('content-type') ?? '';
      if (type.includes('application/problem+json') || type.includes('application/json')) {
        const body = (await response.clone().json().catch(() => undefined)) as Record<string, unknown> | undefined;
        if (body && typeof body === 'object') throw new TrmProblem(body, response);
      }
      throw new TrmProblem({ status: response.status, code: 'unknown', title: response.statusText }, response);
    },
  };
  client.use(auth);
  return Object.assign(client, {
    etagOf: (response: Response) => response.headers.get('etag') ?? undefined,
    ifMatch: (etag: string) => ({ 'If-Match': etag }),
    async *paginate<T>(page: (cursor: string | undefined) => Promise<{ data?: { items: T[]; nextCursor?: string | null } | undefined }>) {
      let cursor: string | undefined;
      do {
        const { data } = await page(cursor);
        for (const item of data?.items ?? []) yield item;
        cursor = data?.nextCursor ?? undefined;
      } while (cursor);
    },
  });
}
