import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Decider, DomainEvent, EvolveEvent, Evolver, RecordedOf } from './decider.js';
import { ConcurrencyError } from './errors.js';
import { canonicalJson, checkChainLink } from './hash-chain.js';
import type {
  AppendResult,
  DbOrTx,
  EventMetadata,
  ExpectedVersion,
  GlobalCheckpoint,
  NewEvent,
  RecordedEvent,
  ReplayedEvent,
} from './types.js';

export interface EventStoreOptions {
  /** The service's schema, where the common migration created `events`. */
  schema: string;
  /**
   * Called after an append the store committed itself (when `db` was not a transaction). The
   * embedded mode wakes its relay with it instead of LISTEN. A caller that appends inside its own
   * transaction must call `store.notifyAppended()` after its commit: only then can the relay see
   * the events. It is a wake-up hint (the relay also polls), so it must not throw; if it does, the
   * error is swallowed rather than make a committed append look failed.
   */
  onAppended?: () => void;
}

export interface AppendOptions {
  expectedVersion: ExpectedVersion;
  metadata: EventMetadata;
  /** recorded_at of every event of the append; millisecond precision, part of the hash. */
  now?: Date;
}

export interface ReadStreamOptions {
  /** Inclusive; defaults to 1. */
  fromVersion?: number;
  /** Inclusive; defaults to the last version. */
  toVersion?: number;
}

export interface StreamRange {
  streamId: string;
  /** Exclusive lower bound (0 reads from the first version). */
  after: number;
  /** Inclusive upper bound. */
  upTo: number;
}

export type VerifyStreamResult = { ok: true; version: number } | { ok: false; version: number; reason: string };

export type VerifyAllResult =
  | { ok: true; streams: number; events: number }
  | { ok: false; streamId: string; version: number; reason: string; streams: number; events: number };

export interface HandleCommandOptions {
  /** A number (HTTP If-Match) must equal the stream's version; omitted or 'any' decides on the current state. */
  expectedVersion?: number | 'any';
  metadata: EventMetadata;
  now?: Date;
}

export interface CommandResult<Event extends DomainEvent, State> {
  events: RecordedOf<Event>[];
  nextVersion: number;
  state: State;
}

export interface EventStore {
  readonly schema: string;
  append(db: DbOrTx, streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult>;
  readStream(db: DbOrTx, streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /**
   * The events of several streams at once: for each range, versions `after` < v <= `upTo`, in
   * (stream id, version) order. One statement for a whole consumer batch.
   */
  readStreamRanges(db: DbOrTx, ranges: ReadonlyArray<StreamRange>): Promise<RecordedEvent[]>;
  /** Current version of a stream, 0 when it has no events (for ETags). */
  streamVersion(db: DbOrTx, streamId: string): Promise<number>;
  /**
   * Committed events after `after` in (transaction id, global position) order, never past the
   * oldest transaction still running, so a late commit is never skipped. A transaction open
   * anywhere in the cluster holds readers back until it ends (hence idle_in_transaction_session_timeout).
   */
  readGlobal(db: DbOrTx, after: GlobalCheckpoint, limit: number): Promise<RecordedEvent[]>;
  /**
   * `readGlobal` for replays: the same events in the same order under the same xmin bound, without
   * metadata and hashes, so a rebuild does not pay for parsing what it never reads.
   */
  readGlobalForReplay(db: DbOrTx, after: GlobalCheckpoint, limit: number): Promise<ReplayedEvent[]>;
  checkpointOf(event: Pick<RecordedEvent, 'transactionId' | 'globalPosition'>): GlobalCheckpoint;
  aggregateStream<Event extends DomainEvent, State>(
    db: DbOrTx,
    streamId: string,
    evolver: Evolver<Event, State>,
  ): Promise<{ state: State; version: number }>;
  /**
   * Load, decide, append in one transaction (the caller's, or one opened here). The stream is
   * locked before it is loaded, so concurrent commands on one stream queue instead of failing;
   * a ConcurrencyError then only means a stale If-Match. Errors thrown by `decide` propagate
   * unchanged and nothing is written.
   */
  handleCommand<Command, Event extends DomainEvent, State>(
    db: DbOrTx,
    streamId: string,
    decider: Decider<Command, Event, State>,
    command: Command,
    options: HandleCommandOptions,
  ): Promise<CommandResult<Event, State>>;
  verifyStream(db: DbOrTx, streamId: string): Promise<VerifyStreamResult>;
  /** Walks every stream in (stream id, version) order, `batchSize` rows per query. */
  verifyAll(db: DbOrTx, options?: { batchSize?: number }): Promise<VerifyAllResult>;
  /** Calls `onAppended`; for callers that appended inside their own transaction, after commit. */
  notifyAppended(): void;
}

/** Position of an event in the global order. */
export function checkpointOf(event: Pick<RecordedEvent, 'transactionId' | 'globalPosition'>): GlobalCheckpoint {
  return { transactionId: event.transactionId, globalPosition: event.globalPosition };
}

/** Negative, zero or positive as `a` is before, at or after `b`. */
export function compareCheckpoints(a: GlobalCheckpoint, b: GlobalCheckpoint): number {
  const tx = BigInt(a.transactionId) - BigInt(b.transactionId);
  if (tx !== 0n) return tx < 0n ? -1 : 1;
  const pos = BigInt(a.globalPosition) - BigInt(b.globalPosition);
  return pos === 0n ? 0 : pos < 0n ? -1 : 1;
}

/** handleCommand outside a transaction: how many times a command is decided again after another writer got in first. */
const MAX_COMMAND_TRIES = 20;

interface EventRow {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  stream_version: number;
  event_id: string;
  event_type: string;
  schema_version: number;
  data: unknown;
  metadata: EventMetadata;
  recorded_at: string;
  prev_hash: string | null;
  hash: string;
}

// Everything through ::text or to_char so pg and PGlite return the same strings: bigint and xid8
// must not become numbers, and recorded_at must come back byte-identical to what was hashed.
// Queries alias the table `e` and ORDER BY e.<column>: a bare name in ORDER BY means the output
// column first, and ordering the text aliases would put position 10 before 2.
const EVENT_COLUMNS = sql`e.global_position::text as global_position, e.transaction_id::text as transaction_id,
  e.stream_id, e.stream_version, e.event_id::text as event_id, e.event_type, e.schema_version, e.data, e.metadata,
  to_char(e.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as recorded_at, e.prev_hash, e.hash`;

const REPLAY_COLUMNS = sql`e.global_position::text as global_position, e.transaction_id::text as transaction_id,
  e.stream_id, e.stream_version, e.event_id::text as event_id, e.event_type, e.schema_version, e.data,
  to_char(e.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as recorded_at`;

type ReplayRow = Omit<EventRow, 'metadata' | 'prev_hash' | 'hash'>;

function toReplayed(row: ReplayRow): ReplayedEvent {
  return {
    globalPosition: row.global_position,
    transactionId: row.transaction_id,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    eventId: row.event_id,
    type: row.event_type,
    schemaVersion: row.schema_version,
    data: row.data,
    recordedAt: row.recorded_at,
  };
}

function toRecorded(row: EventRow): RecordedEvent {
  return { ...toReplayed(row), metadata: row.metadata, prevHash: row.prev_hash, hash: row.hash };
}

function isStreamVersionConflict(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown } | null;
  if (!e || e.code !== '23505') return false;
  if (typeof e.constraint === 'string') return e.constraint === 'events_stream_version_unique';
  return typeof e.message === 'string' && e.message.includes('events_stream_version_unique');
}

/** The actual version events_append reported with SQLSTATE P0409 (DETAIL), or undefined for any other error. */
function expectedVersionMismatch(err: unknown): { actual: number | null } | undefined {
  const e = err as { code?: unknown; detail?: unknown; message?: unknown } | null;
  if (!e || e.code !== 'P0409') return undefined;
  const detail = typeof e.detail === 'string' ? e.detail : /is at version (\d+)/.exec(String(e.message))?.[1];
  const actual = detail !== undefined && /^\d+$/.test(detail) ? Number(detail) : null;
  return { actual };
}

function assertStreamId(streamId: string): void {
  if (typeof streamId !== 'string' || streamId === '') throw new TypeError('streamId must be a non-empty string');
}

function assertVersion(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new TypeError(`${name} must be an integer >= 0, got ${String(v)}`);
}

/** Runs `fn` in the caller's transaction, or in a new one; says which. */
async function inTransaction<T>(db: DbOrTx, fn: (tx: DbOrTx) => Promise<T>): Promise<{ result: T; owned: boolean }> {
  if (db.isTransaction) return { result: await fn(db), owned: false };
  return { result: await db.transaction().execute(fn), owned: true };
}

export function createEventStore(options: EventStoreOptions): EventStore {
  const { schema, onAppended } = options;
  if (!schema) throw new TypeError('createEventStore: schema is required');
  const events = sql.id(schema, 'events');
  const appendFunction = sql.id(schema, 'events_append');
  const readLockedFunction = sql.id(schema, 'events_read_locked');
  const headLockedFunction = sql.id(schema, 'events_head_locked');

  function notifyAppended(): void {
    if (!onAppended) return;
    try {
      onAppended();
    } catch {
      // See EventStoreOptions.onAppended: a hint, and the append has committed already.
    }
  }

  async function readHead(db: DbOrTx, streamId: string): Promise<{ version: number; hash: string | null }> {
    const { rows } = await sql<{ stream_version: number; hash: string }>`
      select e.stream_version, e.hash from ${events} e
      where e.stream_id = ${streamId} order by e.stream_version desc limit 1`.execute(db);
    const head = rows[0];
    return head ? { version: head.stream_version, hash: head.hash } : { version: 0, hash: null };
  }

  /** Checks, canonicalises and numbers the events of an append after version `after`; no hashes yet. */
  function prepare(streamId: string, after: number, newEvents: NewEvent[], opts: Pick<AppendOptions, 'metadata' | 'now'>) {
    const recordedAt = (opts.now ?? new Date()).toISOString();
    const metadata = JSON.parse(canonicalJson(opts.metadata)) as EventMetadata;
    return newEvents.map((e, i) => {
      if (typeof e.type !== 'string' || e.type === '') throw new TypeError(`event ${i}: type must be a non-empty string`);
      const schemaVersion = e.schemaVersion ?? 1;
      if (!(Number.isInteger(schemaVersion) && schemaVersion >= 1)) throw new TypeError(`event ${i}: schemaVersion must be an integer >= 1`);
      if (e.data === undefined) throw new TypeError(`event ${i}: data is undefined`);
      // Hash and return what jsonb will give back (toJSON applied, undefined members dropped), so
      // the appended events equal the ones read later; canonicalJson also refuses NaN and friends.
      const data: unknown = JSON.parse(canonicalJson(e.data));
      return { eventId: uuidv7(), streamId, streamVersion: after + 1 + i, type: e.type, schemaVersion, data, metadata, recordedAt };
    });
  }

  /**
   * The append in one statement: `events_append` (migration 0006) takes the stream lock, checks the
   * head is at `expected`, chains the hashes over the canonical bytes sent here and inserts. Outside
   * a transaction it is its own (implicit) transaction: one round trip, no BEGIN or COMMIT. A head
   * other than `expected` raises P0409, which `toConcurrencyError` turns into a ConcurrencyError.
   */
  async function appendOneStatement(
    db: DbOrTx,
    streamId: string,
    expected: number,
    newEvents: NewEvent[],
    opts: Pick<AppendOptions, 'metadata' | 'now'>,
  ): Promise<AppendResult> {
    if (newEvents.length === 0) {
      // Nothing to write, but the expectation is still checked.
      const actual = (await readHead(db, streamId)).version;
      if (actual !== expected) throw new ConcurrencyError(streamId, expected, actual);
      return { nextVersion: expected, events: [] };
    }
    const prepared = prepare(streamId, expected, newEvents, opts);
    // canonicalEventBytes is the UTF-8 of this string; the function hashes convert_to(it, 'UTF8').
    const canonical = prepared.map((e) => canonicalJson(e));
    const { rows } = await sql<{ global_position: string; transaction_id: string; stream_version: number; prev_hash: string | null; hash: string }>`
      select r.global_position, r.transaction_id, r.stream_version, r.prev_hash, r.hash
      from ${appendFunction}(${streamId}, ${expected}::int, ${canonical}::text[]) r`.execute(db);
    if (rows.length !== prepared.length) throw new Error(`events_append returned ${rows.length} rows for ${prepared.length} events of ${streamId}`);
    const events = prepared.map((e, i): RecordedEvent => {
      const row = rows[i]!;
      if (row.stream_version !== e.streamVersion) throw new Error(`events_append returned ${streamId}@${row.stream_version} for @${e.streamVersion}`);
      return { ...e, globalPosition: row.global_position, transactionId: row.transaction_id, prevHash: row.prev_hash, hash: row.hash };
    });
    return { nextVersion: expected + newEvents.length, events };
  }

  /**
   * 'any': the version, hence the hashed bytes, is known only under the stream lock. One call
   * takes the lock and reads the head (events_head_locked), one appends after it. Writers of one
   * stream queue on the lock, so 'any' never fails on a concurrent writer under READ COMMITTED.
   */
  async function appendAny(tx: DbOrTx, streamId: string, newEvents: NewEvent[], opts: AppendOptions): Promise<AppendResult> {
    const { rows } = await sql<{ stream_version: number }>`select h.stream_version from ${headLockedFunction}(${streamId}) h`.execute(tx);
    const version = rows[0]?.stream_version ?? 0;
    if (newEvents.length === 0) return { nextVersion: version, events: [] };
    return appendOneStatement(tx, streamId, version, newEvents, opts);
  }

  /**
   * Turns a version mismatch raised by events_append (the actual version is known) or a unique
   * violation from a concurrent writer into a ConcurrencyError; rethrows anything else.
   */
  async function conflictToError(db: DbOrTx, owned: boolean, streamId: string, expected: ExpectedVersion, err: unknown): Promise<never> {
    const mismatch = expectedVersionMismatch(err);
    if (mismatch) throw new ConcurrencyError(streamId, expected, mismatch.actual);
    if (!isStreamVersionConflict(err)) throw err;
    // Our own transaction is rolled back by now, so `db` is free to read the winner's version.
    const actual = owned ? await readHead(db, streamId).then((h) => h.version) : null;
    throw new ConcurrencyError(streamId, expected, actual);
  }

  async function append(db: DbOrTx, streamId: string, newEvents: NewEvent[], opts: AppendOptions): Promise<AppendResult> {
    assertStreamId(streamId);
    if (typeof opts.expectedVersion === 'number') assertVersion('expectedVersion', opts.expectedVersion);
    const owned = !db.isTransaction;
    const expected = opts.expectedVersion;
    let result: AppendResult;
    try {
      if (expected === 'any') {
        // The lock must outlive the head read: a transaction of its own when the caller has none.
        ({ result } = await inTransaction(db, (tx) => appendAny(tx, streamId, newEvents, opts)));
      } else {
        // The client knows every hashed field: one statement, its own transaction when owned.
        result = await appendOneStatement(db, streamId, expected === 'no_stream' ? 0 : expected, newEvents, opts);
      }
    } catch (err) {
      return conflictToError(db, owned, streamId, expected, err);
    }
    if (owned && result.events.length > 0) notifyAppended();
    return result;
  }

  /** The whole stream, read after taking its lock (held to the end of the caller's transaction), in one round trip. */
  async function readLocked(tx: DbOrTx, streamId: string): Promise<RecordedEvent[]> {
    const { rows } = await sql<EventRow>`
      select ${EVENT_COLUMNS} from ${readLockedFunction}(${streamId}) e order by e.stream_version`.execute(tx);
    return rows.map(toRecorded);
  }

  async function readStream(db: DbOrTx, streamId: string, opts: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertStreamId(streamId);
    assertVersion('fromVersion', opts.fromVersion);
    assertVersion('toVersion', opts.toVersion);
    const { rows } = await sql<EventRow>`
      select ${EVENT_COLUMNS} from ${events} e
      where e.stream_id = ${streamId}
        and e.stream_version >= ${opts.fromVersion ?? 1}::int
        and e.stream_version <= ${opts.toVersion ?? 2147483647}::int
      order by e.stream_version`.execute(db);
    return rows.map(toRecorded);
  }

  async function readStreamRanges(db: DbOrTx, ranges: ReadonlyArray<StreamRange>): Promise<RecordedEvent[]> {
    if (ranges.length === 0) return [];
    for (const r of ranges) {
      assertStreamId(r.streamId);
      assertVersion('after', r.after);
      assertVersion('upTo', r.upTo);
    }
    // JSON rather than array parameters: the same text travels through pg and PGlite.
    const json = JSON.stringify(ranges.map((r) => ({ s: r.streamId, a: r.after, u: r.upTo })));
    const { rows } = await sql<EventRow>`
      select ${EVENT_COLUMNS} from ${events} e
      join jsonb_to_recordset(${json}::jsonb) as r(s text, a int, u int)
        on e.stream_id = r.s and e.stream_version > r.a and e.stream_version <= r.u
      order by e.stream_id, e.stream_version`.execute(db);
    return rows.map(toRecorded);
  }

  async function streamVersion(db: DbOrTx, streamId: string): Promise<number> {
    assertStreamId(streamId);
    return (await readHead(db, streamId)).version;
  }

  /** The global order's rows after `after`, with the given columns (see readGlobal for the bound). */
  async function readGlobalRows<Row>(db: DbOrTx, after: GlobalCheckpoint, limit: number, columns: typeof EVENT_COLUMNS): Promise<Row[]> {
    if (!(Number.isInteger(limit) && limit > 0)) throw new TypeError(`limit must be a positive integer, got ${String(limit)}`);
    // The xmin bound is what makes the checkpoint safe: every transaction below it has ended, so
    // no event can still appear behind the checkpoint. Do not drop it to "see events sooner".
    const { rows } = await sql<Row>`
      select ${columns} from ${events} e
      where (e.transaction_id, e.global_position) > (${after.transactionId}::xid8, ${after.globalPosition}::bigint)
        and e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      order by e.transaction_id, e.global_position
      limit ${limit}::int`.execute(db);
    return rows;
  }

  async function readGlobal(db: DbOrTx, after: GlobalCheckpoint, limit: number): Promise<RecordedEvent[]> {
    return (await readGlobalRows<EventRow>(db, after, limit, EVENT_COLUMNS)).map(toRecorded);
  }

  async function readGlobalForReplay(db: DbOrTx, after: GlobalCheckpoint, limit: number): Promise<ReplayedEvent[]> {
    return (await readGlobalRows<ReplayRow>(db, after, limit, REPLAY_COLUMNS)).map(toReplayed);
  }

  async function load<Event extends DomainEvent, State>(
    db: DbOrTx,
    streamId: string,
    evolver: Evolver<Event, State>,
  ): Promise<{ state: State; version: number }> {
    let state = evolver.initialState();
    let version = 0;
    for (const event of await readStream(db, streamId)) {
      // Stored events are trusted to be members of the union: they were decided by this decider.
      state = evolver.evolve(state, event as unknown as EvolveEvent<Event>);
      version = event.streamVersion;
    }
    return { state, version };
  }

  async function aggregateStream<Event extends DomainEvent, State>(
    db: DbOrTx,
    streamId: string,
    evolver: Evolver<Event, State>,
  ): Promise<{ state: State; version: number }> {
    assertStreamId(streamId);
    return load(db, streamId, evolver);
  }

  async function handleCommand<Command, Event extends DomainEvent, State>(
    db: DbOrTx,
    streamId: string,
    decider: Decider<Command, Event, State>,
    command: Command,
    opts: HandleCommandOptions,
  ): Promise<CommandResult<Event, State>> {
    assertStreamId(streamId);
    const ifMatch = opts.expectedVersion === 'any' ? undefined : opts.expectedVersion;
    assertVersion('expectedVersion', ifMatch);
    const owned = !db.isTransaction;
    const attempt = async (): Promise<CommandResult<Event, State>> => {
      // In the caller's transaction the stream is read under its lock, held to the end of that
      // transaction, so concurrent commands queue. Outside one there is no transaction to hold it:
      // the read is plain, and a writer that got in before events_append makes it raise P0409.
      const stored = owned ? await readStream(db, streamId) : await readLocked(db, streamId);
      let state = decider.initialState();
      for (const event of stored) state = decider.evolve(state, event as unknown as EvolveEvent<Event>);
      const version = stored.at(-1)?.streamVersion ?? 0;
      if (ifMatch !== undefined && ifMatch !== version) throw new ConcurrencyError(streamId, ifMatch, version);
      const decided = decider.decide(command, state);
      if (decided.length === 0) return { events: [], nextVersion: version, state };
      // The loaded version is the expected one: events_append re-takes the (re-entrant) lock and
      // checks the head in the same round trip.
      const appended = await appendOneStatement(db, streamId, version, decided, {
        metadata: opts.metadata,
        ...(opts.now ? { now: opts.now } : {}),
      });
      for (const event of appended.events) state = decider.evolve(state, event as unknown as EvolveEvent<Event>);
      return { events: appended.events as RecordedOf<Event>[], nextVersion: appended.nextVersion, state };
    };
    let outcome: CommandResult<Event, State>;
    for (let tries = 1; ; tries++) {
      try {
        outcome = await attempt();
        break;
      } catch (err) {
        // Outside a transaction nothing was written: without an If-Match, decide again on the
        // state the other writer left (the effect of queueing), a bounded number of times.
        if (owned && ifMatch === undefined && expectedVersionMismatch(err) && tries < MAX_COMMAND_TRIES) continue;
        return conflictToError(db, owned, streamId, ifMatch ?? 'any', err);
      }
    }
    if (owned && outcome.events.length > 0) notifyAppended();
    return outcome;
  }

  async function verifyStream(db: DbOrTx, streamId: string): Promise<VerifyStreamResult> {
    assertStreamId(streamId);
    let previous: RecordedEvent | null = null;
    for (const event of await readStream(db, streamId)) {
      const check = checkChainLink(previous, event);
      if (!check.ok) return { ok: false, version: event.streamVersion, reason: check.reason };
      previous = event;
    }
    return { ok: true, version: previous?.streamVersion ?? 0 };
  }

  async function verifyAll(db: DbOrTx, opts: { batchSize?: number } = {}): Promise<VerifyAllResult> {
    const batchSize = opts.batchSize ?? 1000;
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new TypeError('batchSize must be a positive integer');
    let streams = 0;
    let count = 0;
    let previous: RecordedEvent | null = null;
    // Keyset over the (stream_id, stream_version) unique index: one ordered pass, constant memory.
    for (;;) {
      const { rows } = await sql<EventRow>`
        select ${EVENT_COLUMNS} from ${events} e
        where ${previous ? sql`(e.stream_id, e.stream_version) > (${previous.streamId}, ${previous.streamVersion}::int)` : sql`true`}
        order by e.stream_id, e.stream_version
        limit ${batchSize}::int`.execute(db);
      for (const row of rows) {
        const event = toRecorded(row);
        const sameStream: boolean = previous !== null && previous.streamId === event.streamId;
        if (!sameStream) streams++;
        count++;
        const check = checkChainLink(sameStream ? previous : null, event);
        if (!check.ok) return { ok: false, streamId: event.streamId, version: event.streamVersion, reason: check.reason, streams, events: count };
        previous = event;
      }
      if (rows.length < batchSize) return { ok: true, streams, events: count };
    }
  }

  return {
    schema,
    append,
    readStream,
    readStreamRanges,
    streamVersion,
    readGlobal,
    readGlobalForReplay,
    checkpointOf,
    aggregateStream,
    handleCommand,
    verifyStream,
    verifyAll,
    notifyAppended,
  };
}
