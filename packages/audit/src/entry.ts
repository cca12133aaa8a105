import { type EventEnvelope, EventEnvelopeSchema } from '@trm/contracts';
import { canonicalJson } from '@trm/event-store';
import { isHexHash, leafHash } from './merkle.js';

/**
 * One ledger entry: an event exactly as its service published it, and its place in the ledger.
 * The index is inside what the leaf hashes, so an entry moved elsewhere no longer matches.
 */
export interface LedgerEntry {
  index: number;
  event: EventEnvelope;
}

/** One line of an export: the entry and its leaf hash (lowercase hex). */
export interface ExportLine extends LedgerEntry {
  leafHash: string;
}

/**
 * Canonical JSON (RFC 8785, the same bytes as `canonicalJson`) of a value that came out of
 * JSON.parse: only strings, finite numbers, booleans, null, arrays and plain objects, so none of
 * canonicalJson's guards (toJSON, undefined, NaN, bigint) can apply and no error paths are built.
 * The verifier's hot path (issue 15: 100,000 entries/s).
 */
export function canonicalParsedJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'number':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalParsedJson).join(',')}]`;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) out += `${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:${canonicalParsedJson(record[keys[i]!])}`;
      return `${out}}`;
    }
    default:
      return canonicalJson(value);
  }
}

/** UTF-8 bytes of the canonical JSON (RFC 8785) of `{ event, index }`: what the leaf hashes. */
export function canonicalEntryBytes(entry: LedgerEntry): Buffer {
  return Buffer.from(canonicalJson({ event: entry.event, index: entry.index }), 'utf8');
}

export function entryLeafHash(entry: LedgerEntry): Buffer {
  return leafHash(canonicalEntryBytes(entry));
}

/** The NDJSON line of an entry (canonical, so an export is byte-for-byte reproducible). */
export function exportLine(entry: LedgerEntry, leaf: Uint8Array): string {
  return canonicalJson({ event: entry.event, index: entry.index, leafHash: Buffer.from(leaf).toString('hex') });
}

/**
 * One line of a structural export (what auditors and other organisations get): the index and the
 * leaf hash only, never the event (issue 15, finding 1). It proves the tree, not any content.
 */
export interface StructuralLine {
  index: number;
  leafHash: string;
}

export function structuralLine(line: StructuralLine): string {
  return canonicalJson({ index: line.index, leafHash: line.leafHash });
}

/** Built once: a zod schema built per line made the verifier ~40× slower. */
const StrictEnvelope = EventEnvelopeSchema.strict();

export type ParsedLine = { ok: true; line: ExportLine } | { ok: true; line: StructuralLine & { event?: undefined } } | { ok: false; reason: string };

/** Parses one export line; the reason names fields, never their values. */
export function parseExportLine(text: string): ParsedLine {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not valid JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, reason: 'not a JSON object' };
  const { index, event, leafHash: leaf, ...rest } = json as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return { ok: false, reason: `unexpected member(s) ${extra.join(', ')}` };
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) return { ok: false, reason: 'index is not a non-negative integer' };
  if (!isHexHash(leaf)) return { ok: false, reason: 'leafHash is not a lowercase hex SHA-256' };
  if (!('event' in (json as object))) return { ok: true, line: { index, leafHash: leaf } };
  // Strict on the envelope too: a member added to the event would otherwise vanish from the
  // parsed value while the leaf hash (computed over the parsed value) still matched.
  const parsed = StrictEnvelope.safeParse(event);
  if (!parsed.success) return { ok: false, reason: `event is not an event envelope (${parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')})` };
  return { ok: true, line: { index, event: event as EventEnvelope, leafHash: leaf } };
}
