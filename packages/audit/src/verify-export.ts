import { createHash } from 'node:crypto';
import type { JWK } from 'jose';
import { computeEventHash } from '@trm/event-store';
import { type ExportLine, canonicalParsedJson, parseExportLine, structuralLine } from './entry.js';
import { verifyCheckpoint } from './checkpoint.js';
import { type SignedTreeHead, verifyTreeHead } from './head.js';
import { StreamingRoot, fromHex, leafHash } from './merkle.js';
import { StreamChecker } from './stream-check.js';

export interface VerifyExportOptions {
  /** The signed head the export must match (its first treeSize entries), with the JWKS… */
  head?: unknown;
  jwks?: { keys: JWK[] };
  /** …or a C2SP checkpoint (signed note) and the vkey it must be signed by. */
  checkpoint?: { note: string; vkey: string };
  /** An older head the auditor kept: the export must extend it. */
  previousHead?: unknown;
  /** Called every `progressEvery` entries with the count so far. */
  onProgress?: (entries: number) => void;
  progressEvery?: number;
  /**
   * Entries whose stream positions are held in memory before a sorted run is spilled to a
   * temporary file (default 100,000): the stream check's memory does not grow with the export.
   */
  streamMemoryEntries?: number;
}

const HEX_HASH = /^[0-9a-f]{64}$/;

/**
 * The event's own hash, recomputed exactly as `computeEventHash` of @trm/event-store does
 * (SHA-256(prevHash bytes ‖ canonical JSON of the hashed fields)), with the serializer for parsed
 * JSON: the same bytes, without the error paths (the verifier's hot path).
 */
function eventHashMatches(e: ExportLine['event']): boolean {
  if (e.prevHash !== null && !HEX_HASH.test(e.prevHash)) return false;
  const { eventId, streamId, streamVersion, type, schemaVersion, data, metadata, recordedAt } = e;
  const h = createHash('sha256');
  if (e.prevHash !== null) h.update(Buffer.from(e.prevHash, 'hex'));
  h.update(canonicalParsedJson({ eventId, streamId, streamVersion, type, schemaVersion, data, metadata, recordedAt }), 'utf8');
  return h.digest('hex') === e.hash;
}

/** The slow reference, for the unit test that both agree. */
export function eventHashMatchesReference(e: ExportLine['event']): boolean {
  try {
    return computeEventHash(e.prevHash, e) === e.hash;
  } catch {
    return false;
  }
}
export { eventHashMatches as eventHashMatchesFast };

/** Stable codes, so scripts can tell failures apart. */
export type VerifyFailureCode =
  | 'bad-head'
  | 'bad-previous-head'
  | 'previous-head-newer'
  | 'malformed-entry'
  | 'non-canonical-entry'
  | 'unexpected-index'
  | 'event-hash-mismatch'
  | 'stream-chain-broken'
  | 'stream-fork'
  | 'stream-gap'
  | 'leaf-hash-mismatch'
  | 'root-mismatch'
  | 'previous-root-mismatch'
  | 'export-too-short';

export type VerifyExportResult =
  | {
      ok: true;
      entries: number;
      head: SignedTreeHead;
      previousHead?: SignedTreeHead;
      beyondHead: number;
      /** Entries given as their leaf hash only: the tree verifies, their content is not known. */
      structural: number;
    }
  | {
      ok: false;
      code: VerifyFailureCode;
      /** The first bad entry's ledger index and 1-based line, when one entry is to blame. */
      index?: number;
      line?: number;
      message: string;
    };

/**
 * Verifies an export offline, in one pass and O(log n) memory: each line parses and is
 * canonical, indexes run 0, 1, 2… without gap, each event matches its own hash and follows the
 * previous event of its stream, each leaf hash matches its entry, the root of the first
 * treeSize leaves equals the signed head's (and the root of the first previous.treeSize leaves
 * equals the older head's, which proves the log only grew), and both signatures verify.
 * It stops at the first failure and names it.
 */
export async function verifyExport(lines: AsyncIterable<string> | Iterable<string>, opts: VerifyExportOptions): Promise<VerifyExportResult> {
  // Every stream, in bounded memory: sorted runs (spilled to disk when large) merged at the end.
  const streams = new StreamChecker(opts.streamMemoryEntries);
  try {
    return await verifyWith(streams, lines, opts);
  } finally {
    await streams.close();
  }
}

async function verifyWith(streams: StreamChecker, lines: AsyncIterable<string> | Iterable<string>, opts: VerifyExportOptions): Promise<VerifyExportResult> {
  let head: { ok: true; head: SignedTreeHead } | { ok: false; reason: string };
  if (opts.checkpoint) {
    const cp = verifyCheckpoint(opts.checkpoint.note, opts.checkpoint.vkey);
    head = cp.ok ? { ok: true, head: { treeSize: cp.treeSize, rootHash: cp.rootHash, timestamp: 0, keyId: cp.origin, signature: '' } } : cp;
  } else {
    head = await verifyTreeHead(opts.head, opts.jwks ?? { keys: [] });
  }
  if (!head.ok) return { ok: false, code: 'bad-head', message: `head: ${head.reason}` };
  let previous: SignedTreeHead | undefined;
  if (opts.previousHead !== undefined) {
    const check = await verifyTreeHead(opts.previousHead, opts.jwks ?? { keys: [] });
    if (!check.ok) return { ok: false, code: 'bad-previous-head', message: `previous head: ${check.reason}` };
    previous = check.head;
    if (previous.treeSize > head.head.treeSize) {
      return { ok: false, code: 'previous-head-newer', message: `the previous head (size ${previous.treeSize}) is larger than the head (size ${head.head.treeSize})` };
    }
  }
  const target = head.head.treeSize;
  const root = new StreamingRoot();
  const every = opts.progressEvery ?? 1000;
  let lineNo = 0;
  let count = 0;
  let beyondHead = 0;
  let structural = 0;

  const checkRoots = (): VerifyExportResult | null => {
    if (previous && root.size === previous.treeSize && !root.root().equals(fromHex(previous.rootHash))) {
      return {
        ok: false,
        code: 'previous-root-mismatch',
        message: `the first ${previous.treeSize} entries do not have the root of the previous head: the log was rewritten, not extended`,
      };
    }
    if (root.size === target && !root.root().equals(fromHex(head.head.rootHash))) {
      return {
        ok: false,
        code: 'root-mismatch',
        message: `the root of the first ${target} entries does not match the signed head: an entry was changed together with its leaf hash`,
      };
    }
    return null;
  };

  const early = checkRoots();
  if (early) return early;

  for await (const raw of lines) {
    lineNo++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text === '') continue;
    const expected = count;
    const at = { index: expected, line: lineNo };
    const parsed = parseExportLine(text);
    if (!parsed.ok) return { ok: false, code: 'malformed-entry', ...at, message: `entry ${expected} (line ${lineNo}): ${parsed.reason}` };
    const { line } = parsed;
    if (line.index !== expected) {
      const what = line.index > expected ? `entry ${expected} is missing` : `entry ${line.index} appears again or out of order`;
      return { ok: false, code: 'unexpected-index', ...at, message: `line ${lineNo}: expected index ${expected}, found ${line.index} (${what})` };
    }
    let leaf: Buffer;
    if (line.event === undefined) {
      // A structural line: the leaf hash is all there is to check (it goes into the root).
      if (structuralLine(line) !== text) {
        return { ok: false, code: 'non-canonical-entry', ...at, message: `entry ${expected} (line ${lineNo}): the line is not in canonical form (bytes were changed)` };
      }
      leaf = fromHex(line.leafHash);
      structural++;
    } else {
      const full = line as ExportLine;
      const e = full.event;
      if (!eventHashMatches(e)) {
        return { ok: false, code: 'event-hash-mismatch', ...at, message: `entry ${expected} (line ${lineNo}): the event does not match its own hash (event ${e.eventId} was changed)` };
      }
      await streams.add({ service: e.service, streamId: e.streamId, version: e.streamVersion, index: expected, line: lineNo, eventId: e.eventId, hash: e.hash, prevHash: e.prevHash });
      // Keys in canonical order are event < index < leafHash: the event's canonical text once
      // gives both the bytes the leaf hashes and the line the export must hold.
      const eventText = canonicalParsedJson(e);
      leaf = leafHash(Buffer.from(`{"event":${eventText},"index":${full.index}}`, 'utf8'));
      if (leaf.toString('hex') !== full.leafHash) {
        return { ok: false, code: 'leaf-hash-mismatch', ...at, message: `entry ${expected} (line ${lineNo}): the leaf hash does not match the entry` };
      }
      if (`{"event":${eventText},"index":${full.index},"leafHash":"${full.leafHash}"}` !== text) {
        return { ok: false, code: 'non-canonical-entry', ...at, message: `entry ${expected} (line ${lineNo}): the line is not in canonical form (bytes were changed)` };
      }
    }
    count++;
    if (count <= target) {
      root.append(leaf);
      const bad = checkRoots();
      if (bad) return bad;
    } else {
      beyondHead++;
    }
    if (opts.onProgress && count % every === 0) opts.onProgress(count);
  }
  opts.onProgress?.(count);
  const streamFailure = await streams.finish();
  if (count < target) {
    return { ok: false, code: 'export-too-short', index: count, message: `the export holds ${count} entries; the head covers ${target} (entry ${count} onwards is missing)` };
  }
  // A second entry for a (service, stream, version) is a fork, a skipped version a gap: both fail.
  if (streamFailure) return { ok: false, ...streamFailure };
  return { ok: true, entries: count, head: head.head, ...(previous ? { previousHead: previous } : {}), beyondHead, structural };
}
