import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEventStore } from '@trm/event-store';
import { natsUrl } from '@trm/testing';
import { Registry } from 'prom-client';
import { sql } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import { appendStreams, appliedCount, createHandledTable, faultConsumer, metadata, sleep, tally } from '../test/fault-helpers.js';
import { SCHEMA, randomStream, setUpDatabase, waitFor } from '../test/helpers.js';
import type { ConsumerSubscription } from './consumer.js';
import { type JetStreamBus, connectJetStreamBus } from './jetstream-bus.js';
import { type Relay, relaySignal, startRelay } from './relay.js';
import { sameDatabaseSource } from './source.js';

// Issue 16, found 4: the relay leader held a session advisory lock with no liveness check: a
// stopped process (SIGSTOP, a blocked event loop) kept its session and its lock, standbys waited
// for ever, and nothing was published. The lease has a heartbeat and expires.

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.resolve(here, '../test/relay-child.mjs');
const DIST = path.resolve(here, '../dist/relay.js');

const LEASE_TTL_MS = 2_000;
const STANDBY_RETRY_MS = 250;
/** Scheduling slack on a loaded test machine (two cores shared by parallel test files). */
const SLACK_MS = 1_500;

type ChildMessage =
  | { type: 'ready' | 'midBatch' }
  | { type: 'leader'; leader: boolean }
  | { type: 'report'; published: number; paused: number; stale: number; leader: boolean }
  | { type: 'error'; message: string };

/** Children still running, killed whatever happens to the test (a stopped one could not exit by itself). */
const children = new Set<ChildProcess>();
const killAll = () => {
  for (const p of children) {
    try {
      p.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
};
process.once('exit', killAll);
afterAll(killAll);

class RelayChild {
  readonly messages: ChildMessage[] = [];
  private readonly waiters = new Set<() => void>();
  readonly proc: ChildProcess;
  stderr = '';

  constructor(env: Record<string, unknown>) {
    this.proc = spawn(process.execPath, [CHILD], {
      env: { ...process.env, TRM_RELAY_CHILD: JSON.stringify(env) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    children.add(this.proc);
    this.proc.stderr!.on('data', (chunk) => (this.stderr += String(chunk)));
    this.proc.on('message', (m: ChildMessage) => {
      this.messages.push(m);
      for (const w of [...this.waiters]) w();
    });
    this.proc.on('exit', () => {
      children.delete(this.proc);
      for (const w of [...this.waiters]) w();
    });
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves with the first message (from `from` on) that matches; fails if the child exits or errs. */
  next<T extends ChildMessage>(match: (m: ChildMessage) => m is T, timeoutMs: number, from = 0): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const error = this.messages.find((m) => m.type === 'error');
        if (error) return finish(() => reject(new Error(`relay child failed: ${(error as { message: string }).message}`)));
        const found = this.messages.slice(from).find(match);
        if (found) return finish(() => resolve(found));
        if (!this.alive) finish(() => reject(new Error(`relay child exited (${this.proc.exitCode ?? this.proc.signalCode}): ${this.stderr}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`relay child: no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)} ${this.stderr}`))), timeoutMs);
      const finish = (f: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      this.waiters.add(check);
      check();
    });
  }

  async report(): Promise<Extract<ChildMessage, { type: 'report' }>> {
    const from = this.messages.length;
    this.proc.send({ cmd: 'report' });
    return this.next((m): m is Extract<ChildMessage, { type: 'report' }> => m.type === 'report', 5_000, from);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) process.kill(this.proc.pid!, sig);
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    // A stopped process must be continued before it can stop by itself; SIGKILL if it does not.
    this.signal('SIGCONT');
    if (this.proc.connected) this.proc.send({ cmd: 'stop' });
    const timer = setTimeout(() => this.signal('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

it('a SIGSTOPped relay leader is replaced by a standby within ttl + standby retry; its publishes after SIGCONT change nothing', async () => {
  if (!existsSync(DIST) || !readFileSync(DIST, 'utf8').includes('relay_leases')) {
    throw new Error(`${DIST} is missing or predates the relay lease: build it first (npx tsc -b packages/bus; make test does)`);
  }
  const database = await setUpDatabase();
  const { db } = database;
  const stream = randomStream();
  // A short duplicate window, so that the stale leader's late publishes do reach the consumer
  // (JetStream would otherwise drop them by msg id) and the consumer itself must make them harmless.
  const duplicateWindowMs = 1_000;
  let consumerBus: JetStreamBus | undefined;
  let standbyBus: JetStreamBus | undefined;
  let standby: Relay | undefined;
  let sub: ConsumerSubscription | undefined;
  let child: RelayChild | undefined;
  const store = createEventStore({ schema: SCHEMA, onAppended: () => consumerBus?.signal(relaySignal(SCHEMA)) });
  const name = 'leader-liveness';
  const registry = new Registry();
  try {
    consumerBus = await connectJetStreamBus({ servers: natsUrl(), ...stream, duplicateWindowMs });
    standbyBus = await connectJetStreamBus({ servers: natsUrl(), ...stream, duplicateWindowMs });
    await createHandledTable(db);
    sub = await faultConsumer({ db, bus: consumerBus, name, source: sameDatabaseSource(() => SCHEMA), concurrency: 4, metrics: registry });

    // The leader: a process of its own, started first so that it takes the lease.
    child = new RelayChild({
      databaseUrl: database.url,
      natsUrl: natsUrl(),
      ...stream,
      schema: SCHEMA,
      duplicateWindowMs,
      leaseTtlMs: LEASE_TTL_MS,
      standbyRetryMs: STANDBY_RETRY_MS,
      batchSize: 50,
      midBatchPauseMs: 1_500,
    });
    const c = child;
    await c.next((m): m is { type: 'leader'; leader: boolean } => m.type === 'leader' && m.leader, 30_000);
    const { rows: leases } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`${SCHEMA}.relay_leases`)} where expires_at > now()`.execute(db);
    expect(leases[0]!.n).toBe(1);

    // The standby, in this process, same relay name: it must wait while the leader lives.
    standby = await startRelay({ db, store, schema: SCHEMA, service: 'referrals', bus: standbyBus, batchSize: 50, pollMs: 100, lease: { ttlMs: LEASE_TTL_MS }, standbyRetryMs: STANDBY_RETRY_MS });
    const relay = standby;
    const first = await appendStreams(store, db, { streams: 20, tag: 'first' });
    await waitFor('the leader child publishes the first events', async () => (await appliedCount(db, name)) === first, 20_000, 50);
    expect(relay.isLeader()).toBe(false);
    expect((await c.report()).published).toBeGreaterThanOrEqual(first);

    // Freeze the leader in the middle of a batch: read, not yet published, not checkpointed.
    c.proc.send({ cmd: 'arm' });
    const marker = c.messages.length;
    // One transaction: the leader's next read finds a whole batch.
    const writing = db
      .transaction()
      .execute(async (tx) => {
        for (let s = 0; s < 40; s++) {
          const events = Array.from({ length: 5 }, (_, i) => ({ type: i === 0 ? 'CaseNotified' : 'CaseUpdated', data: { caseId: `second-${s}`, i } }));
          await store.append(tx, `case-second-${s}`, events, { expectedVersion: 'no_stream', metadata });
        }
        return 40 * 5;
      })
      .then((n) => {
        store.notifyAppended();
        return n;
      });
    await c.next((m): m is { type: 'midBatch' } => m.type === 'midBatch', 20_000, marker);
    c.signal('SIGSTOP');
    const stoppedAt = Date.now();
    const second = await writing;

    await waitFor('the standby takes the lead', () => relay.isLeader(), LEASE_TTL_MS + STANDBY_RETRY_MS + 10_000, 10);
    const takeoverMs = Date.now() - stoppedAt;
    await waitFor('publication resumed', async () => (await appliedCount(db, name)) > first, 20_000, 20);
    const resumedMs = Date.now() - stoppedAt;
    await waitFor('every event applied', async () => (await appliedCount(db, name)) >= first + second, 30_000, 50);
    const allAppliedMs = Date.now() - stoppedAt;
    // Past the stream's duplicate window: the stale publishes are stored as new messages.
    await sleep(duplicateWindowMs + 500);
    const frozenFor = Date.now() - stoppedAt;
    expect(c.alive).toBe(true);

    // Continue the stale leader: it publishes the batch it was frozen in (the stream's duplicate
    // window has long passed), then finds the lease taken and stands by.
    c.signal('SIGCONT');
    let report = await c.report();
    await waitFor('the stale leader to publish its batch', async () => {
      report = await c.report();
      return report.paused > 0 && report.stale === report.paused && !report.leader;
    }, 20_000, 100);
    // Events appended now are published by the new leader only.
    const third = await appendStreams(store, db, { streams: 10, tag: 'third' });
    await waitFor('the last events applied', async () => (await appliedCount(db, name)) >= first + second + third, 20_000, 50);
    await sleep(1_500); // any late effect of the stale publishes would show now
    const result = await tally(db, name);
    const after = await c.report();
    const dropped = (await registry.getSingleMetric('trm_consumer_messages_total')!.get()).values.find((v) => v.labels.outcome === 'duplicate')?.value ?? 0;
    console.info(
      `[leader SIGSTOP] lease ttl ${LEASE_TTL_MS} ms, standby retry ${STANDBY_RETRY_MS} ms: standby took the lead ${takeoverMs} ms after the SIGSTOP, ` +
        `publication resumed (first event applied) after ${resumedMs} ms, all ${second} pending events applied after ${allAppliedMs} ms; ` +
        `leader frozen ${frozenFor} ms; after SIGCONT it published ${report.stale} stale messages (the consumer dropped ${dropped} deliveries as already applied) and stood by (leader: ${after.leader}); ` +
        `events ${result.events}, lost ${result.lost}, duplicates ${result.duplicates}, out of order ${result.outOfOrder}, dead letters ${result.deadLetters}`,
    );

    expect(takeoverMs).toBeLessThanOrEqual(LEASE_TTL_MS + STANDBY_RETRY_MS + SLACK_MS);
    // The whole batch it was frozen in went out late, and changed nothing.
    expect(report.stale).toBe(50);
    expect(dropped).toBeGreaterThanOrEqual(50);
    expect(after.leader).toBe(false);
    expect(relay.isLeader()).toBe(true);
    expect(result).toEqual({ events: first + second + third, handled: first + second + third, duplicates: 0, extra: 0, outOfOrder: 0, badStart: 0, deadLetters: 0, lost: 0 });
  } finally {
    await child?.stop().catch(() => {});
    await standby?.stop().catch(() => {});
    await sub?.stop().catch(() => {});
    await standbyBus?.deleteStream().catch(() => {});
    for (const b of [consumerBus, standbyBus]) await b?.close().catch(() => {});
    await database.tearDown();
  }
}, 150_000);
