import { type EventEnvelope, type ServiceName } from '@trm/contracts';
import { type GlobalCheckpoint, type RecordedEvent, START_OF_LOG } from '@trm/event-store';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import type { Registry } from 'prom-client';
import { type Bus, eventSubject } from './bus.js';
import { loadRelayCheckpoint, saveRelayCheckpoint } from './checkpoints.js';
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
   * PostgreSQL connection string for a dedicated session holding the leader lock, so that one
   * relay per schema publishes while other replicas stand by. Leave undefined on PGlite (one
   * process: no lock).
   */
  listen?: string;
  /** How often a standby replica tries to take the lead. */
  standbyRetryMs?: number;
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
  private leader: LeaderSession | undefined;
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
    };
    if (opts.listen) this.leader = new LeaderSession(opts.listen, `trm.relay.${opts.schema}.${this.name}`, this.logger);
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
    return this.leader ? this.leader.held : !this.stopping.signal.aborted;
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
    await this.leader?.close();
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
        if (this.leader && !(await this.leader.acquire())) {
          this.metrics.leader.set(0);
          this.checkpoint = undefined; // Another replica moves it meanwhile.
          // Not woken by appends: a standby would otherwise query the lock on every notification.
          await sleep(this.opts.standbyRetryMs ?? 2_000, this.stopping.signal);
          continue;
        }
        this.metrics.leader.set(1);
        // Only callers that were waiting before this read started may learn it came back empty.
        waiting = this.idleWaiters.splice(0);
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
    await Promise.all(
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
    await saveRelayCheckpoint(db, schema, this.name, next);
    this.checkpoint = next;
    this.metrics.published.inc(batch.length);
    return batch.length;
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
 * One dedicated session per relay holding a session-level advisory lock. If the session dies the lock goes with it, so another replica can take over; a relay
 * still finishing its batch meanwhile only republishes (msgId dedupe and inboxes absorb it).
 */
class LeaderSession {
  private client: pg.Client | undefined;
  held = false;

  constructor(
    private readonly connectionString: string,
    private readonly lockName: string,
    private readonly logger: Logger,
  ) {}

  async acquire(): Promise<boolean> {
    if (this.held && this.client) return true;
    if (!this.client) await this.connect();
    const { rows } = await this.client!.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as locked', [this.lockName]);
    this.held = rows[0]?.locked === true;
    if (this.held) this.logger.info({ lock: this.lockName }, 'relay took the lead');
    return this.held;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, application_name: 'trm-relay' });
    const lost = (err?: Error) => {
      if (this.client !== client) return;
      this.logger.warn({ lock: this.lockName, err: err && errorMessage(err) }, 'relay session lost');
      this.client = undefined;
      this.held = false;
      client.end().catch(() => {});
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.held = false;
    await client?.end().catch(() => {});
  }
}
