import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ProblemError } from './problems.js';

/** Strong ETag of a stream version. */
export function etag(version: number): string {
  return `"${version}"`;
}

const IF_MATCH = /^"(0|[1-9][0-9]{0,15})"$/;

/**
 * The version the client last read, or undefined without If-Match. Weak tags, lists and `*`
 * are refused: a write needs exactly the version it was based on.
 */
export function parseIfMatch(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined) return undefined;
  const match = typeof header === 'string' ? IF_MATCH.exec(header.trim()) : null;
  if (!match) throw new ProblemError(400, 'invalid-if-match', 'If-Match must be one strong ETag such as "3".');
  const version = Number(match[1]);
  if (!Number.isSafeInteger(version)) throw new ProblemError(400, 'invalid-if-match', 'If-Match must be one strong ETag such as "3".');
  return version;
}

export function requireIfMatch(request: FastifyRequest): number {
  const version = parseIfMatch(request);
  if (version === undefined) throw new ProblemError(428, 'precondition-required', 'Send If-Match with the ETag you last read.');
  return version;
}

export function setEtag(reply: FastifyReply, version: number): FastifyReply {
  return reply.header('etag', etag(version));
}

/** Opaque to clients; base64url of JSON so any sort key (position strings, timestamps) fits. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<S extends z.ZodType>(cursor: string, schema: S): z.output<S> {
  const invalid = () => new ProblemError(400, 'invalid-cursor', 'The cursor is not one this API issued.');
  if (!/^[A-Za-z0-9_-]{1,1024}$/.test(cursor)) throw invalid();
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalid();
  return parsed.data;
}

/** Query of a listing: extend it with the route's own filters (it stays strict). */
export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().min(1).max(1024).optional(),
});
export type PageQuery = z.output<typeof pageQuery>;
