import { type EventEnvelope } from '@trm/contracts';
import type { DbOrTx } from '@trm/event-store';
import { canonicalJson, computeEventHash } from '@trm/event-store';
import { entryLeafHash, type SignedTreeHead } from '@trm/audit';
import { sql } from 'kysely';
import { extendTreeNodes } from '../tree/tree-cache.js';

export interface StoredEntry {
  index: number;
  leafHash: string;
  /** Canonical JSON of the event as published. */
  eventJson: string;
}

const t = (schema: string, table: string) => sql.table(`${schema}.${table}`);

/** The case an event is about: its data's caseId, when it has one. */
export function caseIdOf(envelope: EventEnvelope): string | null {
  const id = envelope.data.caseId;
  return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : null;
}

/**
 * Gives the events the next ledger indexes, in order, and stores them with their leaf hashes, in
 * the consumer's transaction: one counter update and one INSERT, whatever the number of events.
 * The counter row stays locked until that transaction ends, so indexes are committed in order and
 * without gaps even with several replicas consuming. Returns the first index given.
 */
export async function appendEntries(tx: DbOrTx, schema: string, envelopes: readonly EventEnvelope[]): Promise<number> {
  const n = envelopes.length;
  if (n === 0) return -1;
  await checkWritten(tx, schema, envelopes);
  const { rows } = await sql<{ first: string }>`
    update ${t(schema, 'ledger_counter')} set next_index = next_index + ${n}::bigint
    returning (next_index - ${n}::bigint)::text as first`.execute(tx);
  const first = Number(rows[0]!.first);
  const entries = envelopes.map((envelope, k) => {
    const index = first + k;
    return {
      ledger_index: index,
      event_id: envelope.eventId,
      service: envelope.service,
      stream_id: envelope.streamId,
      stream_version: envelope.streamVersion,
      event_type: envelope.type,
      case_id: caseIdOf(envelope),
      recorded_at: envelope.recordedAt,
      event: canonicalJson(envelope),
      leaf_hash: entryLeafHash({ index, event: envelope }).toString('hex'),
    };
  });
  const table = t(schema, 'ledger_entries');
  await sql`
    insert into ${table}
      (ledger_index, event_id, service, stream_id, stream_version, event_type, case_id, recorded_at, event, leaf_hash)
    select ledger_index, event_id, service, stream_id, stream_version, event_type, case_id, recorded_at, event, leaf_hash
    from json_populate_recordset(null::${table}, ${JSON.stringify(entries)}::json)
    order by ledger_index`.execute(tx);
  // The subtree hashes these leaves complete, in the same transaction (issue 15, finding 4).
  await extendTreeNodes(tx, schema, first, first + n);
  return first;
}

/** Why an event is not indexed: it is not what its service wrote (the consumer dead-letters it). */
export class RefusedEvent extends Error {
  override readonly name = 'RefusedEvent';
}

/**
 * Signs only what was written (issue 15, finding 2): each event must match its own hash,
 * recomputed from its content (never the `hash` field trusted), and follow the previous version
 * of its stream (prevHash = that version's hash, none for version 1), whether that version is
 * already in the ledger or earlier in the batch; a second, different event for a version the
 * ledger holds is a fork. Anything else throws `RefusedEvent` and nothing of the batch is indexed.
 */
async function checkWritten(tx: DbOrTx, schema: string, envelopes: readonly EventEnvelope[]): Promise<void> {
  const key = (service: string, streamId: string) => `${service}\u0000${streamId}`;
  const wanted: Array<{ service: string; stream_id: string; stream_version: number }> = [];
  for (const e of envelopes) {
    let hash: string | null;
    try {
      hash = computeEventHash(e.prevHash, e);
    } catch {
      hash = null;
    }
    if (hash !== e.hash) throw new RefusedEvent(`event ${e.eventId} (${e.service} ${e.streamId} v${e.streamVersion}) does not match its own hash`);
    wanted.push({ service: e.service, stream_id: e.streamId, stream_version: e.streamVersion }, { service: e.service, stream_id: e.streamId, stream_version: e.streamVersion - 1 });
  }
  const { rows } = await sql<{ service: string; stream_id: string; stream_version: number; event_id: string; hash: string }>`
    select l.service, l.stream_id, l.stream_version, l.event_id::text as event_id, (l.event::json)->>'hash' as hash
    from ${t(schema, 'ledger_entries')} l
    join json_to_recordset(${JSON.stringify(wanted)}::json) as w(service text, stream_id text, stream_version integer)
      on l.service = w.service and l.stream_id = w.stream_id and l.stream_version = w.stream_version`.execute(tx);
  const held = new Map<string, { eventId: string; hash: string }>();
  for (const r of rows) held.set(`${key(r.service, r.stream_id)}\u0000${r.stream_version}`, { eventId: r.event_id, hash: r.hash });
  for (const e of envelopes) {
    const at = (v: number) => `${key(e.service, e.streamId)}\u0000${v}`;
    const what = `event ${e.eventId} (${e.service} ${e.streamId} v${e.streamVersion})`;
    const same = held.get(at(e.streamVersion));
    if (same && (same.eventId !== e.eventId || same.hash !== e.hash)) {
      throw new RefusedEvent(`fork: ${what} differs from event ${same.eventId}, which the ledger holds for that version`);
    }
    if (e.streamVersion === 1) {
      if (e.prevHash !== null) throw new RefusedEvent(`${what} is the first event of its stream but names a previous hash`);
    } else {
      const prev = held.get(at(e.streamVersion - 1));
      if (!prev) throw new RefusedEvent(`${what}: version ${e.streamVersion - 1} of its stream is not in the ledger`);
      if (prev.hash !== e.prevHash) throw new RefusedEvent(`${what} does not follow version ${e.streamVersion - 1} of its stream`);
    }
    held.set(at(e.streamVersion), { eventId: e.eventId, hash: e.hash });
  }
}

export async function ledgerSize(db: DbOrTx, schema: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`select next_index::text as n from ${t(schema, 'ledger_counter')}`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/** Leaf hashes from `from` on, in index order (only committed entries: a prefix of the ledger). */
export async function readLeafHashes(db: DbOrTx, schema: string, from: number, limit: number): Promise<string[]> {
  const { rows } = await sql<{ leaf_hash: string }>`
    select leaf_hash from ${t(schema, 'ledger_entries')}
    where ledger_index >= ${from}::bigint order by ledger_index limit ${limit}::int`.execute(db);
  return rows.map((r) => r.leaf_hash);
}

interface EntryRow {
  ledger_index: string;
  leaf_hash: string;
  event: string;
}

const toEntry = (r: EntryRow): StoredEntry => ({ index: Number(r.ledger_index), leafHash: r.leaf_hash, eventJson: r.event });

/**
 * Entries with from ≤ index < to, in order. ORDER BY names the column through its table: the bare
 * name would be the text alias of the select list, sorting 10 before 2.
 */
export async function readEntries(db: DbOrTx, schema: string, from: number, to: number, limit: number): Promise<StoredEntry[]> {
  const { rows } = await sql<EntryRow>`
    select ledger_index::text as ledger_index, leaf_hash, event from ${t(schema, 'ledger_entries')}
    where ledger_index >= ${from}::bigint and ledger_index < ${to}::bigint
    order by ${t(schema, 'ledger_entries')}.ledger_index limit ${limit}::int`.execute(db);
  return rows.map(toEntry);
}

export async function findEntry(db: DbOrTx, schema: string, index: number): Promise<StoredEntry | undefined> {
  return (await readEntries(db, schema, index, index + 1, 1))[0];
}

export async function findEntryByEventId(db: DbOrTx, schema: string, eventId: string): Promise<StoredEntry | undefined> {
  const { rows } = await sql<EntryRow>`
    select ledger_index::text as ledger_index, leaf_hash, event from ${t(schema, 'ledger_entries')}
    where event_id = ${eventId}::uuid`.execute(db);
  return rows[0] ? toEntry(rows[0]) : undefined;
}

/** A case's entries across services, in ledger order, after `after` (exclusive). */
export async function readCaseEntries(db: DbOrTx, schema: string, caseId: string, after: number, limit: number): Promise<StoredEntry[]> {
  const { rows } = await sql<EntryRow>`
    select ledger_index::text as ledger_index, leaf_hash, event from ${t(schema, 'ledger_entries')}
    where case_id = ${caseId} and ledger_index > ${after}::bigint
    order by ${t(schema, 'ledger_entries')}.ledger_index limit ${limit}::int`.execute(db);
  return rows.map(toEntry);
}

/** One stream's entries up to a ledger index (inclusive) or a recorded time, in stream order. */
export async function readStreamEntriesAsOf(
  db: DbOrTx,
  schema: string,
  service: string,
  streamId: string,
  asOf: { atIndex: number } | { at: string },
): Promise<StoredEntry[]> {
  const bound = 'atIndex' in asOf ? sql`ledger_index <= ${asOf.atIndex}::bigint` : sql`recorded_at <= ${asOf.at}::timestamptz`;
  const { rows } = await sql<EntryRow>`
    select ledger_index::text as ledger_index, leaf_hash, event from ${t(schema, 'ledger_entries')}
    where service = ${service} and stream_id = ${streamId} and ${bound}
    order by stream_version`.execute(db);
  return rows.map(toEntry);
}

interface HeadRow {
  tree_size: string;
  root_hash: string;
  signed_at_ms: string;
  key_id: string;
  signature: string;
}

const toHead = (r: HeadRow): SignedTreeHead => ({
  treeSize: Number(r.tree_size),
  timestamp: Number(r.signed_at_ms),
  rootHash: r.root_hash,
  keyId: r.key_id,
  signature: r.signature,
});

/**
 * The head of the largest tree. ORDER BY names the column through its table: the bare name would
 * be the text alias of the select list, and '7' sorts after '26' (the signer then saw 7 as the
 * latest head and tried to sign 26 again for ever, and auditors were served the head of 7).
 */
export async function latestHead(db: DbOrTx, schema: string): Promise<SignedTreeHead | undefined> {
  const { rows } = await sql<HeadRow>`
    select tree_size::text as tree_size, root_hash, signed_at_ms::text as signed_at_ms, key_id, signature
    from ${t(schema, 'tree_heads')} order by ${t(schema, 'tree_heads')}.tree_size desc limit 1`.execute(db);
  return rows[0] ? toHead(rows[0]) : undefined;
}

export async function headAt(db: DbOrTx, schema: string, treeSize: number): Promise<SignedTreeHead | undefined> {
  const { rows } = await sql<HeadRow>`
    select tree_size::text as tree_size, root_hash, signed_at_ms::text as signed_at_ms, key_id, signature
    from ${t(schema, 'tree_heads')} where tree_size = ${treeSize}::bigint`.execute(db);
  return rows[0] ? toHead(rows[0]) : undefined;
}

/** False when another replica signed this tree size first. */
export async function insertHead(db: DbOrTx, schema: string, head: SignedTreeHead): Promise<boolean> {
  const { rows } = await sql`
    insert into ${t(schema, 'tree_heads')} (tree_size, root_hash, signed_at_ms, key_id, signature)
    values (${head.treeSize}::bigint, ${head.rootHash}, ${head.timestamp}::bigint, ${head.keyId}, ${head.signature})
    on conflict (tree_size) do nothing returning tree_size`.execute(db);
  return rows.length > 0;
}

/** The C2SP checkpoint signed with the head of `treeSize`. */
export async function insertCheckpoint(db: DbOrTx, schema: string, treeSize: number, note: string): Promise<void> {
  await sql`insert into ${t(schema, 'checkpoints')} (tree_size, note) values (${treeSize}::bigint, ${note})`.execute(db);
}

/** The latest C2SP checkpoint (of the largest tree signed). */
export async function latestCheckpoint(db: DbOrTx, schema: string): Promise<{ treeSize: number; note: string } | undefined> {
  const { rows } = await sql<{ tree_size: string; note: string }>`
    select tree_size::text as tree_size, note from ${t(schema, 'checkpoints')}
    order by ${t(schema, 'checkpoints')}.tree_size desc limit 1`.execute(db);
  return rows[0] ? { treeSize: Number(rows[0].tree_size), note: rows[0].note } : undefined;
}

export async function checkpointAt(db: DbOrTx, schema: string, treeSize: number): Promise<string | undefined> {
  const { rows } = await sql<{ note: string }>`select note from ${t(schema, 'checkpoints')} where tree_size = ${treeSize}::bigint`.execute(db);
  return rows[0]?.note;
}
