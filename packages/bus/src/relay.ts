import { type EventEnvelope, type ServiceName } from '@trm/contracts';
import { type GlobalCheckpoint, type RecordedEvent, START_OF_LOG } from '@trm/event-store';
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Registry } from 'prom-client';
import { type Bus, eventSubject } from './bus.js';
import { loadRelayCheckpoint, loadStreamMark, resetRelayCheckpoint, saveRelayCheckpoint } from './checkpoints.js';
import { type Logger, errorMessage, silentLogger, sleep } from './log.js';
import { counter, gauge } from './metrics.js';

/** The part of the event store the relay reads through (what `createEventStore` returns fits). */
export interface RelaySource {
  readGlobal(db: Kysely<any>, after: GlobalCheckpoint, limit: number): Promise<RecordedEvent[]>;
}

export interface RelayOptions {
  db: Kysely<any>;
  store: RelaySource;
  schema: string;
  service: ServiceName;
  bus: Bus;
  /** Key in relay_checkpoints and in the leader lock. Defaults to the service name. */
  name?: string;
  batchSize?: number;
  /** Fallback poll interval; `wake()` and the bus signal normally make the relay react at once. */
  pollMs?: number;
  /**
   * Leadership: one relay per schema publishes while other replicas stand by. The leader holds a
   * lease in `relay_leases`, renewed every `renewMs` (default ttl / 3) on the database's clock; a
   * leader that stops renewing (crashed, frozen, cut off) is replaced once `ttlMs` (default 10 s)
   * has passed. A stale leader that wakes up only republishes: msg-id dedupe and the consumers'
   * stream positions drop the repeats, and checkpoints never move backwards.
   */
  lease?: { ttlMs?: number; renewMs?: number };
  /** How often a standby replica tries to take the lead. */
  standbyRetryMs?: number;
  /** How often the leader compares the bus's stream with the one it published to (default 5 s). */
  streamCheckMs?: number;
  logger?: Logger;
  metrics?: Registry;
  /** How often the lag gauges are refreshed. */
  lagIntervalMs?: number;
  /** Fault injection for tests: runs after a batch is published and before its checkpoint is saved. */
  beforeCheckpoint?: (last: RecordedEvent) => void | Promise<void>;
}

export interface Relay {
  /** Look for new events now (wire the store's onAppended to it). */
  wake(): void;
  /** Finishes the batch in flight (publish and checkpoint), then releases the lead. */
  stop(): Promise<void>;
  isLeader(): boolean;
  /** Resolves once the relay has read an empty batch after every event committed before the call. */
  caughtUp(): Promise<void>;
}

export function toEnvelope(service: ServiceName, e: RecordedEvent): EventEnvelope {
  return {
    service,
    eventId: e.eventId,
    type: e.type,
    schemaVersion: e.schemaVersion,
    streamId: e.streamId,
    streamVersion: e.streamVersion,
    globalPosition: e.globalPosition,
    transactionId: e.transactionId,
    data: e.data as Record<string, unknown>,
    metadata: e.metadata,
    recordedAt: e.recordedAt,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

const encoder = new TextEncoder();
const LAG_COUNT_LIMIT = 1_000_000;

export async function startRelay(opts: RelayOptions): Promise<Relay> {
  const relay = new RelayLoop(opts);
  relay.start();
  return relay;
}

class RelayLoop implements Relay {
  private readonly name: string;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly logger: Logger;
  private readonly stopping = new AbortController();
  private wakeUp: (() => void) | undefined;
  private stopListening: (() => void) | undefined;
  private woken = false;
  private loop: Promise<void> | undefined;
  private readonly leader: Lease;
  private lastStreamCheck = 0;
  private checkpoint: GlobalCheckpoint | undefined;
  private idleWaiters: Array<{ resolve(): void; reject(err: Error): void }> = [];
  private readonly metrics;
  private lagTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RelayOptions) {
    this.name = opts.name ?? opts.service;
    this.batchSize = opts.batchSize ?? 500;
    this.pollMs = opts.pollMs ?? 1_000;
    this.logger = opts.logger ?? silentLogger;
    const labels = { service: opts.service };
    this.metrics = {
      published: counter(opts.metrics, 'trm_relay_published_total', 'Events published by the relay', ['service']).labels(labels),
      lagSeconds: gauge(opts.metrics, 'trm_relay_lag_seconds', 'Age of the oldest committed event not yet published (0 when caught up)', ['service']).labels(labels),
      lagEvents: gauge(opts.metrics, 'trm_relay_lag_events', `Committed events not yet published (counted up to ${LAG_COUNT_LIMIT})`, ['service']).labels(labels),
      leader: gauge(opts.metrics, 'trm_relay_leader', '1 when this replica is the active relay', ['service']).labels(labels),
      republished: counter(opts.metrics, 'trm_relay_rewinds_total', 'Times the relay found the bus had lost its events and published from the start again', ['service']).labels(labels),
    };
    this.leader = new Lease(opts.db, opts.schema, `${opts.schema}.${this.name}`, opts.lease?.ttlMs ?? 10_000, opts.lease?.renewMs, this.logger);
  }

  start(): void {
    // Commits in any replica signal `relay.<schema>` on the bus after they commit (see relaySignal).
    this.stopListening = this.opts.bus.onSignal(relaySignal(this.opts.schema), () => this.wake());
    this.loop = this.run();
    this.lagTimer = setInterval(() => void this.refreshLag(), this.opts.lagIntervalMs ?? 10_000);
    this.lagTimer.unref();
  }

  /**
   * Reads the outbox table directly (the store's API has no count): bounded, on the
   * (transaction_id, global_position) index, and only on the leader.
   */
  private async refreshLag(): Promise<void> {
    if (!this.isLeader() || !this.checkpoint) return;
    const at = this.checkpoint;
    try {
      const { rows } = await sql<{ behind: number; seconds: number | null }>`
        select count(*)::int as behind, extract(epoch from now() - min(recorded_at))::float8 as seconds
        from (select recorded_at from ${sql.table(`${this.opts.schema}.events`)}
              where (transaction_id, global_position) > (${at.transactionId}::xid8, ${at.globalPosition}::bigint)
              order by transaction_id, global_position limit ${LAG_COUNT_LIMIT}) unpublished`.execute(this.opts.db);
      this.metrics.lagEvents.set(rows[0]?.behind ?? 0);
      this.metrics.lagSeconds.set(Math.max(0, rows[0]?.seconds ?? 0));
    } catch (err) {
      this.logger.debug({ relay: this.name, err: errorMessage(err) }, 'relay lag query failed');
    }
  }

  private async hasHeldBackEvents(): Promise<boolean> {
    const at = this.checkpoint;
    if (!at) return false;
    const { rows } = await sql<{ held: boolean }>`
      select exists (select 1 from ${sql.table(`${this.opts.schema}.events`)}
        where (transaction_id, global_position) > (${at.transactionId}::xid8, ${at.globalPosition}::bigint)) as held`.execute(this.opts.db);
    return rows[0]?.held === true;
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  isLeader(): boolean {
    return this.leader.held && !this.stopping.signal.aborted;
  }

  caughtUp(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.idleWaiters.push({ resolve, reject });
      this.wake();
    });
  }

  async stop(): Promise<void> {
    this.stopListening?.();
    clearInterval(this.lagTimer);
    this.stopping.abort();
    this.wakeUp?.();
    await this.loop;
    await this.leader.release();
    this.metrics.leader.set(0);
    for (const w of this.idleWaiters.splice(0)) w.reject(new Error('relay stopped'));
  }

  private async run(): Promise<void> {
    let failures = 0;
    let heldBackStreak = 0;
    let waiting: typeof this.idleWaiters = [];
    while (!this.stopping.signal.aborted) {
      this.idleWaiters.unshift(...waiting.splice(0));
      try {
        if (!(await this.leader.acquire())) {
          this.metrics.leader.set(0);
          this.checkpoint = undefined; // Another replica moves it meanwhile.
          // Not woken by appends: a standby would otherwise query the lock on every notification.
          await sleep(this.opts.standbyRetryMs ?? 2_000, this.stopping.signal);
          continue;
        }
        this.metrics.leader.set(1);
        // Only callers that were waiting before this read started may learn it came back empty.
        waiting = this.idleWaiters.splice(0);
        await this.checkStream();
        const published = await this.publishBatch();
        failures = 0;
        if (published === 0) {
          for (const w of waiting.splice(0)) w.resolve();
          // Committed events may be held back by an older transaction still open anywhere in the
          // cluster (the visibility horizon). Their wake-up has already been spent, so look again
          // soon instead of waiting a whole poll interval.
          const heldBack = await this.hasHeldBackEvents();
          heldBackStreak = heldBack ? heldBackStreak + 1 : 0;
          await this.idle(heldBack ? Math.min(25 * 2 ** Math.min(heldBackStreak, 6), this.pollMs) : this.pollMs);
        } else {
          heldBackStreak = 0;
        }
      } catch (err) {
        failures++;
        // Re-read the checkpoint: the batch is published again from there (same msgIds).
        this.checkpoint = undefined;
        this.lastStreamCheck = 0;
        this.logger.warn({ relay: this.name, err: errorMessage(err), failures }, 'relay batch failed, retrying');
        await sleep(Math.min(200 * 2 ** Math.min(failures, 5), 5_000), this.stopping.signal);
      }
    }
    this.idleWaiters.unshift(...waiting);
  }

  /** Returns how many events it published. */
  private async publishBatch(): Promise<number> {
    const { db, store, schema, bus, service } = this.opts;
    this.checkpoint ??= (await loadRelayCheckpoint(db, schema, this.name)) ?? START_OF_LOG;
    // Cleared before reading: an append that lands during the read must cause another read.
    this.woken = false;
    const batch = await store.readGlobal(db, this.checkpoint, this.batchSize);
    const last = batch.at(-1);
    if (!last) {
      this.metrics.lagSeconds.set(0);
      this.metrics.lagEvents.set(0);
      return 0;
    }
    const acks = await Promise.all(
      batch.map((e) =>
        bus.publish({
          subject: eventSubject(bus.subjectsPrefix, service, e.type),
          msgId: e.eventId,
          data: encoder.encode(JSON.stringify(toEnvelope(service, e))),
        }),
      ),
    );
    await this.opts.beforeCheckpoint?.(last);
    const next = { transactionId: last.transactionId, globalPosition: last.globalPosition };
    const seqs = acks.map((a) => (a && typeof a.seq === 'number' ? a.seq : 0));
    const stream = acks.find((a) => a?.streamCreated)?.streamCreated;
    await saveRelayCheckpoint(db, schema, this.name, next, stream ? { created: stream, seq: Math.max(...seqs) } : undefined);
    this.checkpoint = next;
    this.metrics.published.inc(batch.length);
    return batch.length;
  }

  /**
   * The bus's stream may have lost what the relay published: recreated empty after a wipe or a
   * deletion, or with its tail lost in a crash (JetStream fsyncs lazily). Either way the relay
   * publishes again from the start of its log; consumers drop what they had applied (their stream
   * positions), and get what they had not. Checked every `streamCheckMs`, and after a failure.
   */
  private async checkStream(): Promise<void> {
    const { bus, db, schema } = this.opts;
    if (!bus.streamState) return;
    const now = Date.now();
    if (now - this.lastStreamCheck < (this.opts.streamCheckMs ?? 5_000)) return;
    this.lastStreamCheck = now;
    const mark = await loadStreamMark(db, schema, this.name);
    if (!mark) return;
    const state = await bus.streamState();
    if (!state) return;
    const recreated = state.created !== mark.created;
    const truncated = !recreated && state.lastSeq < mark.seq;
    if (!recreated && !truncated) return;
    this.logger.warn(
      { relay: this.name, recreated, streamLastSeq: state.lastSeq, publishedSeq: mark.seq },
      'the bus lost events this relay published: publishing again from the start of the log',
    );
    await resetRelayCheckpoint(db, schema, this.name);
    this.checkpoint = undefined;
    this.metrics.republished.inc();
  }

  private async idle(ms: number): Promise<void> {
    // A caughtUp() that came while the last read was running is owed another read.
    if (this.woken || this.idleWaiters.length > 0 || this.stopping.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
    this.wakeUp = undefined;
  }
}

/**
 * The bus signal a service sends after a commit that appended events to `schema`: wakes that
 * schema's active relay, whichever replica runs it. A PostgreSQL NOTIFY trigger did this before;
 * NOTIFY takes a cluster-wide lock at commit and serialised every appending transaction.
 */
export function relaySignal(schema: string): string {
  return `relay.${schema}`;
}

/**
 * Relay leadership as a lease row with a heartbeat, on the database's clock (never a replica's).
 * A session-level advisory lock would outlive a frozen process (SIGSTOP, a blocked event loop):
 * its connection stays open and standbys wait for ever. A lease that is not renewed expires.
 */
class Lease {
  private readonly holder = randomUUID();
  private readonly table;
  private timer: NodeJS.Timeout | undefined;
  held = false;

  constructor(
    private readonly db: Kysely<any>,
    schema: string,
    private readonly name: string,
    private readonly ttlMs: number,
    renewMs: number | undefined,
    private readonly logger: Logger,
  ) {
    this.table = sql.table(`${schema}.relay_leases`);
    this.renewMs = renewMs ?? Math.max(100, Math.floor(ttlMs / 3));
  }

  private readonly renewMs: number;

  /** Takes the lease if it is free or expired, renews it if ours; false if another holder has it. */
  async acquire(): Promise<boolean> {
    const was = this.held;
    try {
      this.held = await this.claim();
    } catch (err) {
      this.held = false;
      throw err;
    }
    if (this.held && !was) {
      this.logger.info({ lease: this.name }, 'relay took the lead');
      this.timer = setInterval(() => void this.renew(), this.renewMs);
      this.timer.unref();
    } else if (!this.held && was) {
      this.logger.warn({ lease: this.name }, 'relay lost the lead');
      clearInterval(this.timer);
    }
    return this.held;
  }

  private async claim(): Promise<boolean> {
    const ttl = `${this.ttlMs} milliseconds`;
    const { rows } = await sql<{ holder: string }>`
      insert into ${this.table} as l (relay, holder, expires_at, acquired_at)
      values (${this.name}, ${this.holder}, now() + ${ttl}::interval, now())
      on conflict (relay) do update
        set holder = excluded.holder, expires_at = excluded.expires_at,
            acquired_at = case when l.holder = excluded.holder then l.acquired_at else now() end
        where l.holder = excluded.holder or l.expires_at < now()
      returning l.holder`.execute(this.db);
    return rows[0]?.holder === this.holder;
  }

  private async renew(): Promise<void> {
    if (!this.held) return;
    try {
      if (!(await this.claim())) {
        this.held = false;
        clearInterval(this.timer);
        this.logger.warn({ lease: this.name }, 'relay lost the lead');
      }
    } catch (err) {
      // The database is away: the lease runs out by itself, the loop finds out on its next batch.
      this.logger.debug({ lease: this.name, err: errorMessage(err) }, 'lease renewal failed');
    }
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    if (!this.held) return;
    this.held = false;
    await sql`delete from ${this.table} where relay = ${this.name} and holder = ${this.holder}`.execute(this.db).catch(() => {});
  }
}
