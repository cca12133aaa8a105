import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { EventEnvelope } from '@trm/contracts';
import type { Db } from '@trm/db';
import type { EventStore, NewEvent } from '@trm/event-store';
import { reachable } from '@trm/testing';
import { type Transaction, sql } from 'kysely';
import type { Bus } from '../src/bus.js';
import { type ConsumerBase, type ConsumerSubscription, startConsumer } from '../src/consumer.js';
import { SCHEMA, waitFor } from './helpers.js';

/**
 * Shared by the fault tests of the bus (issue 16): a consumer whose effect is one row per applied
 * event, and an exact tally of what it did against the source's events table.
 */

export const metadata = { actor: 'system:test', organisation: 'org-test', correlationId: 'corr', causationId: null, requestId: null };

const HANDLED = sql.table(`${SCHEMA}.fault_handled`);

/** Created with a direct connection, before any fault: the consumer may be cut off from the start. */
export async function createHandledTable(db: Db): Promise<void> {
  await sql`create table if not exists ${HANDLED} (
    seq bigint generated always as identity, consumer text not null, replica text not null,
    event_id uuid not null, stream_id text not null, stream_version int not null, type text not null)`.execute(db);
}

export interface FaultConsumerOptions extends Partial<Omit<ConsumerBase, 'db' | 'bus' | 'name' | 'schema'>> {
  db: Db;
  bus: Bus;
  name: string;
  /** Label of this replica in the handled table. */
  replica?: string;
  /** Runs after the event is recorded, in the same transaction (effects, injected failures). */
  effect?: (tx: Transaction<any>, e: EventEnvelope) => Promise<void>;
}

/** startConsumer on `referrals` events that records each applied event (no unique key: a double effect shows). */
export function faultConsumer(opts: FaultConsumerOptions): Promise<ConsumerSubscription> {
  const { db, bus, name, replica = 'a', effect, ...rest } = opts;
  return startConsumer({
    filterSubject: `${bus.subjectsPrefix}.referrals.>`,
    ...rest,
    db,
    bus,
    name,
    schema: SCHEMA,
    handle: async (tx, e) => {
      await sql`insert into ${HANDLED} (consumer, replica, event_id, stream_id, stream_version, type)
        values (${name}, ${replica}, ${e.eventId}::uuid, ${e.streamId}, ${e.streamVersion}, ${e.type})`.execute(tx);
      await effect?.(tx, e);
    },
  });
}

export interface Tally {
  /** Events committed in the source's events table. */
  events: number;
  /** Rows in the handled table (every application of an event's effect). */
  handled: number;
  /** Events applied more than once. */
  duplicates: number;
  /** Handled rows whose event the source does not hold. */
  extra: number;
  /** Consecutive applications within a stream whose versions do not follow on. */
  outOfOrder: number;
  /** Streams whose first applied version is not 1. */
  badStart: number;
  deadLetters: number;
  /** Committed events neither applied nor dead-lettered. */
  lost: number;
}

export async function tally(db: Db, consumer: string): Promise<Tally> {
  const e = sql.table(`${SCHEMA}.events`);
  const dl = sql.table(`${SCHEMA}.dead_letters`);
  const { rows } = await sql<Tally>`
    select
      (select count(*)::int from ${e}) as events,
      (select count(*)::int from ${HANDLED} where consumer = ${consumer}) as handled,
      (select count(*)::int from (select event_id from ${HANDLED} where consumer = ${consumer} group by event_id having count(*) > 1) d) as duplicates,
      (select count(*)::int from ${HANDLED} h where consumer = ${consumer} and not exists (select 1 from ${e} where event_id = h.event_id)) as extra,
      (select count(*)::int from (select stream_version, lag(stream_version) over (partition by stream_id order by seq) as before
         from ${HANDLED} where consumer = ${consumer}) o where before is not null and stream_version <> before + 1) as "outOfOrder",
      (select count(*)::int from (select distinct on (stream_id) stream_version from ${HANDLED} where consumer = ${consumer}
         order by stream_id, seq) f where stream_version <> 1) as "badStart",
      (select count(*)::int from ${dl} where consumer = ${consumer}) as "deadLetters",
      (select count(*)::int from ${e} ev where not exists (select 1 from ${HANDLED} where consumer = ${consumer} and event_id = ev.event_id)
         and not exists (select 1 from ${dl} where consumer = ${consumer} and event_id = ev.event_id)) as lost`.execute(db);
  return rows[0]!;
}

/** Distinct events the consumer applied (what a "done" wait counts). */
export async function appliedCount(db: Db, consumer: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(distinct event_id)::int as n from ${HANDLED} where consumer = ${consumer}`.execute(db);
  return rows[0]!.n;
}

/** The handled rows per replica. */
export async function appliedByReplica(db: Db, consumer: string): Promise<Record<string, number>> {
  const { rows } = await sql<{ replica: string; n: number }>`select replica, count(*)::int as n from ${HANDLED} where consumer = ${consumer} group by replica`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.replica, r.n]));
}

/**
 * Appends `streams` new streams, each with the events `eventsOf` gives (one append per event, as
 * commands would), `writers` at a time. Returns how many events were appended.
 */
export async function appendStreams(
  store: EventStore,
  db: Db,
  opts: { streams: number; tag: string; eventsOf?: (stream: number) => NewEvent[]; writers?: number },
): Promise<number> {
  const eventsOf = opts.eventsOf ?? ((s: number) => [{ type: 'CaseNotified', data: { caseId: `${opts.tag}-${s}` } }]);
  let next = 0;
  let appended = 0;
  const writer = async () => {
    for (let s = next++; s < opts.streams; s = next++) {
      const streamId = `case-${opts.tag}-${s}`;
      let version = 0;
      for (const event of eventsOf(s)) {
        await store.append(db, streamId, [event], { expectedVersion: version, metadata });
        version++;
        appended++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.writers ?? 4 }, writer));
  return appended;
}

/** Samples a condition while a fault lasts: when it first held, and whether it ever did. */
export function watch(check: () => boolean, everyMs = 200) {
  const started = Date.now();
  let firstAtMs: number | null = null;
  let samples = 0;
  const timer = setInterval(() => {
    samples++;
    if (firstAtMs === null && check()) firstAtMs = Date.now() - started;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { firstAtMs, samples };
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const NATS_SERVER = '/usr/sbin/nats-server';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export { freePort };

/**
 * A NATS server of our own (as startPrivateNats) whose store directory can be wiped while it is
 * down: a lost disk, or a host crash before JetStream's lazy fsync.
 */
export async function startWipeableNats() {
  if (!existsSync(NATS_SERVER)) throw new Error(`${NATS_SERVER} is missing: install nats-server (apt-get install nats-server) to run this test`);
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trm-nats-wipe-'));
  const store = path.join(dir, 'store');
  const url = `nats://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  const start = async () => {
    await mkdir(store, { recursive: true });
    proc = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], { stdio: 'ignore' });
    await waitFor(`nats-server on port ${port}`, () => reachable(url, port, 200), 10_000);
  };
  const kill = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url,
    start,
    /** kill -9. */
    kill,
    /** Removes everything the server stored (only while it is down). */
    async wipe() {
      if (proc && proc.exitCode === null && proc.signalCode === null) throw new Error('wipe the store only while nats-server is down');
      await rm(store, { recursive: true, force: true });
    },
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
