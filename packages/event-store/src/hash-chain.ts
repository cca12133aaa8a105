import { createHash } from 'node:crypto';
import type { EventMetadata } from './types.js';

/**
 * Canonical JSON: object keys sorted recursively by UTF-16 code units, no whitespace, strings and
 * numbers as ECMAScript's JSON.stringify writes them; that is RFC 8785 (JCS) for the values JSON
 * can hold. Hashes are computed over it so that they survive jsonb, which reorders keys.
 *
 * Like JSON.stringify, `toJSON` is honoured and undefined object members are dropped (they never
 * reach the database either). Unlike it, NaN, ±Infinity and bigint are refused instead of being
 * turned into `null` or thrown later: an event must not change silently on its way in.
 */
export function canonicalJson(value: unknown): string {
  const out = serialize(value, '$');
  if (out === undefined) throw new TypeError('canonicalJson: the value is not representable in JSON');
  return out;
}

function serialize(input: unknown, path: string): string | undefined {
  let value = input;
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(key: string): unknown }).toJSON('');
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${path} is ${value}, which JSON cannot hold`);
      return JSON.stringify(value);
    case 'bigint':
      throw new TypeError(`canonicalJson: ${path} is a bigint; write it as a decimal string`);
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        return `[${value.map((item, i) => serialize(item, `${path}[${i}]`) ?? 'null').join(',')}]`;
      }
      const record = value as Record<string, unknown>;
      const members: string[] = [];
      // Array.prototype.sort without a comparator orders by UTF-16 code units, as JCS requires.
      for (const key of Object.keys(record).sort()) {
        const member = serialize(record[key], `${path}.${key}`);
        if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
      }
      return `{${members.join(',')}}`;
    }
  }
}

/** The fields of an event that its hash covers. Positions and transaction ids are not: they are
 * assigned by the database after the hash is computed. */
export interface HashedEventFields {
  eventId: string;
  streamId: string;
  streamVersion: number;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
  /** ISO 8601 with milliseconds, UTC, exactly as stored in RecordedEvent.recordedAt. */
  recordedAt: string;
}

/** UTF-8 bytes of the canonical JSON of exactly the hashed fields (extra properties ignored). */
export function canonicalEventBytes(event: HashedEventFields): Buffer {
  const { eventId, streamId, streamVersion, type, schemaVersion, data, metadata, recordedAt } = event;
  return Buffer.from(canonicalJson({ eventId, streamId, streamVersion, type, schemaVersion, data, metadata, recordedAt }), 'utf8');
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * hex SHA-256(prevHash bytes ‖ canonical bytes), where prevHash bytes are the 32 raw bytes the hex
 * string encodes, and nothing for the first event of a stream.
 */
export function computeEventHash(prevHash: string | null, event: HashedEventFields): string {
  const h = createHash('sha256');
  if (prevHash !== null) {
    // Buffer.from(…, 'hex') silently stops at the first bad digit: check first.
    if (!HEX_SHA256.test(prevHash)) throw new TypeError(`computeEventHash: prevHash is not a lowercase hex SHA-256: ${prevHash}`);
    h.update(Buffer.from(prevHash, 'hex'));
  }
  h.update(canonicalEventBytes(event));
  return h.digest('hex');
}

export type ChainCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks one event against its predecessor in the stream (`previous` null for the first event
 * read). Pure, so the ledger and offline verifiers can run the same rules.
 */
export function checkChainLink(
  previous: { streamVersion: number; hash: string } | null,
  event: HashedEventFields & { prevHash: string | null; hash: string },
): ChainCheck {
  const expectedVersion = previous ? previous.streamVersion + 1 : 1;
  if (event.streamVersion !== expectedVersion) {
    return { ok: false, reason: `expected version ${expectedVersion}, found ${event.streamVersion}` };
  }
  const expectedPrev = previous ? previous.hash : null;
  if (event.prevHash !== expectedPrev) {
    return { ok: false, reason: `prev_hash ${event.prevHash ?? 'null'} does not match the previous event's hash ${expectedPrev ?? 'null'}` };
  }
  const recomputed = computeEventHash(event.prevHash, event);
  if (recomputed !== event.hash) {
    return { ok: false, reason: `hash mismatch: stored ${event.hash}, recomputed ${recomputed} (the event's content changed)` };
  }
  return { ok: true };
}
