import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sql, type Kysely, type Transaction } from 'kysely';
import { ProblemError } from './problems.js';

/** Stored answers are kept this long by default; a retry after that runs the work again. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

export interface IdempotentAnswer {
  statusCode: number;
  headers?: Record<string, string>;
  /** Must be plain JSON (what goes on the wire): it is stored as jsonb and replayed as is. */
  body: unknown;
}

export interface IdempotentResult {
  statusCode: number;
  headers: Record<string, string>;
  body: unknown;
  replayed: boolean;
}

export interface IdempotencyContext {
  db: Kysely<any>;
  /** The service schema holding `idempotency_keys` (from migrations/common). */
  schema: string;
  request: FastifyRequest;
}

const KEY_FORMAT = /^[\x20-\x7E]{1,255}$/;

/**
 * Runs a creating command at most once per (organisation, Idempotency-Key). The lock, the
 * lookup, the work and the stored answer share one transaction, so the work's writes (events)
 * and the answer commit together or not at all: a crash never leaves work done without its
 * answer, nor an answer for work that was rolled back. A ProblemError thrown by `work` rolls
 * everything back and is not stored, so the client may retry the same key after fixing nothing
 * but the conditions (e.g. a concurrent change).
 *
 * Without the header the work still runs in a transaction, so callers have one code path.
 */
export async function runIdempotent(
  ctx: IdempotencyContext,
  work: (tx: Transaction<any>) => Promise<IdempotentAnswer>,
): Promise<IdempotentResult> {
  const key = idempotencyKeyOf(ctx.request);
  if (key === undefined) {
    const answer = await ctx.db.transaction().execute(work);
    return { statusCode: answer.statusCode, headers: answer.headers ?? {}, body: answer.body, replayed: false };
  }
  const orgId = ctx.request.principal.orgId;
  const requestHash = hashRequest(ctx.request);

  return ctx.db.transaction().execute(async (tx) => {
    // Transaction-scoped, so it is released by commit or rollback whatever happens here. The
    // lock and the lookup are one statement (one round trip): the select list is evaluated left
    // to right, so the subquery runs only once the lock is held (and is null when it is not).
    const { rows } = await sql<{ locked: boolean; request_hash: string | null; status_code: number | null; headers: unknown; body: unknown }>`
      select l.locked, k.request_hash, k.status_code, k.headers, k.body
      from (select pg_try_advisory_xact_lock(hashtextextended(${`${ctx.schema}\u001f${orgId}\u001f${key}`}, 0)) as locked offset 0) l
      left join ${sql.table(`${ctx.schema}.idempotency_keys`)} k on l.locked and k.org_id = ${orgId} and k.key = ${key}`.execute(tx);
    if (!rows[0]?.locked) {
      throw new ProblemError(409, 'idempotency-key-in-use', 'A request with this Idempotency-Key is still in progress.');
    }
    const stored = rows[0].request_hash === null ? undefined : rows[0];
    if (stored) {
      if (stored.request_hash !== requestHash) {
        throw new ProblemError(422, 'idempotency-key-reused', 'This Idempotency-Key was used for a different request.');
      }
      return {
        statusCode: stored.status_code as number,
        headers: { ...(stored.headers as Record<string, string>), 'idempotent-replayed': 'true' },
        body: stored.body,
        replayed: true,
      };
    }

    const answer = await work(tx);
    const headers = answer.headers ?? {};
    const inserted = await tx
      .withSchema(ctx.schema)
      .insertInto('idempotency_keys')
      .values({
        org_id: orgId,
        key,
        request_hash: requestHash,
        status_code: answer.statusCode,
        headers: JSON.stringify(headers),
        body: answer.body === undefined ? null : JSON.stringify(answer.body),
      })
      // The lookup above saw the snapshot taken as its statement began: a request with the same
      // key that committed between that instant and our lock is not in it. Its answer is then
      // here already: roll this work back (nothing done twice) and let the client retry, which
      // replays that answer.
      .onConflict((oc) => oc.columns(['org_id', 'key']).doNothing())
      .returning('org_id')
      .executeTakeFirst();
    if (!inserted) {
      throw new ProblemError(409, 'idempotency-key-in-use', 'A request with this Idempotency-Key was completed concurrently: retry to get its answer.');
    }
    return { statusCode: answer.statusCode, headers, body: answer.body, replayed: false };
  });
}

export function sendIdempotent(reply: FastifyReply, result: IdempotentResult): FastifyReply {
  return reply.code(result.statusCode).headers(result.headers).send(result.body);
}

function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !KEY_FORMAT.test(header)) {
    throw new ProblemError(400, 'invalid-idempotency-key', 'Idempotency-Key must be 1 to 255 printable ASCII characters, sent once.');
  }
  return header;
}

/**
 * The concrete URL, not the route pattern: the same key sent to two different cases is two
 * different requests.
 */
export function hashRequest(request: FastifyRequest): string {
  return createHash('sha256')
    .update(`${request.method}\n${request.url}\n${canonicalJson(request.body)}`)
    .digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === undefined) return '';
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export async function purgeIdempotencyKeys(
  db: Kysely<any>,
  schema: string,
  olderThan: Date = new Date(Date.now() - IDEMPOTENCY_RETENTION_MS),
): Promise<number> {
  const result = await db.withSchema(schema).deleteFrom('idempotency_keys').where('created_at', '<', olderThan).executeTakeFirst();
  return Number(result.numDeletedRows);
}
