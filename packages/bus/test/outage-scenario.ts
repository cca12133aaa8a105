import { type PgOptions, createPgDb } from '@trm/db';
import { createEventStore } from '@trm/event-store';
import { natsUrl } from '@trm/testing';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { expect } from 'vitest';
import { type ConsumerSubscription, defaultRetryDelayMs } from '../src/consumer.js';
import { connectJetStreamBus } from '../src/jetstream-bus.js';
import type { Logger } from '../src/log.js';
import { type Relay, startRelay } from '../src/relay.js';
import { sameDatabaseSource } from '../src/source.js';
import { appendStreams, appliedCount, createHandledTable, faultConsumer, sleep, tally, watch } from './fault-helpers.js';
import { SCHEMA, count, randomStream, setUpDatabase, waitFor } from './helpers.js';
import { type TcpFaultProxy, startTcpFaultProxy, targetOf } from './tcp-fault-proxy.js';

export interface OutageScenario {
  label: string;
  /** Puts the fault in place (the proxy passes until then). */
  fault: (proxy: TcpFaultProxy) => Promise<void>;
  /** How long the fault lasts, from the moment it is put in place. */
  outageMs: number;
  /** The consumer's pool (it goes through the proxy). */
  pool: PgOptions;
  streams: number;
  eventsPerStream: number;
  batchSize?: number;
  concurrency?: number;
  /** The consumer's logger (silent by default). */
  logger?: Logger;
}

/**
 * A consumer whose PostgreSQL goes away while events are pending for it. The events are appended
 * and published over direct connections (the relay and the writers are not cut off); only the
 * consumer's pool goes through the fault proxy. The consumer runs with the production retry
 * policy (defaultRetryDelayMs, maxDeliver 5, ack wait 30 s), so what survives here is what the
 * defaults survive. At the end every committed event must have been applied exactly once, in
 * stream order, with no dead letter.
 */
export async function runOutage(s: OutageScenario) {
  const database = await setUpDatabase();
  const { db } = database;
  const proxy = await startTcpFaultProxy(targetOf(database.url, 5432));
  const applicationName = `trm-fault-${s.label}`;
  const { db: consumerDb } = createPgDb(proxy.url(database.url), { max: 4, applicationName, ...s.pool });
  const stream = randomStream();
  const relayBus = await connectJetStreamBus({ servers: natsUrl(), ...stream });
  const consumerBus = await connectJetStreamBus({ servers: natsUrl(), ...stream });
  let relay: Relay | undefined;
  let consumer: ConsumerSubscription | undefined;
  const store = createEventStore({ schema: SCHEMA, onAppended: () => relay?.wake() });
  const registry = new Registry();
  const name = `outage-${s.label}`;
  let progress: NodeJS.Timeout | undefined;
  try {
    await createHandledTable(db);
    consumer = await faultConsumer({
      db: consumerDb,
      bus: consumerBus,
      name,
      // As the services run it: the events themselves are read from the source's table.
      source: sameDatabaseSource(() => SCHEMA),
      // The defaults, said out loud: the test proves they survive the outage.
      retryDelayMs: defaultRetryDelayMs,
      unhealthyAfterMs: 5_000,
      batchSize: s.batchSize,
      concurrency: s.concurrency,
      metrics: registry,
      ...(s.logger ? { logger: s.logger } : {}),
    });
    relay = await startRelay({ db, store, schema: SCHEMA, service: 'referrals', bus: relayBus, pollMs: 200 });

    // The consumer works, and holds pooled connections through the proxy, before the fault.
    await appendStreams(store, db, { streams: 1, tag: 'warm-up' });
    await waitFor('the warm-up event applied', async () => (await appliedCount(db, name)) === 1, 20_000);

    const faultAt = Date.now();
    await s.fault(proxy);
    const sub = consumer;
    const unhealthy = watch(() => sub.health().unhealthy);
    const appended = await appendStreams(store, db, {
      streams: s.streams,
      tag: s.label,
      eventsOf: (n) => Array.from({ length: s.eventsPerStream }, (_, i) => ({ type: i === 0 ? 'CaseNotified' : 'CaseUpdated', data: { caseId: `${s.label}-${n}`, i } })),
    });
    await relay.caughtUp();
    let pending: number | undefined;
    await waitFor('JetStream to count the pending events', async () => (pending = await sub.pending()) === appended, 10_000, 100);
    const publishedMs = Date.now() - faultAt;
    expect(publishedMs).toBeLessThan(s.outageMs);

    await sleep(faultAt + s.outageMs - Date.now());
    const duringOutage = await tally(db, name);
    const pendingAtEnd = await sub.pending();
    const healthAtEnd = sub.health();
    const unhealthySeen = unhealthy.stop();

    await proxy.pass();
    const healedAt = Date.now();
    progress = setInterval(() => {
      void (async () => {
        const applied = await appliedCount(db, name).catch(() => -1);
        const left = await sub.pending().catch(() => undefined);
        console.info(`[${s.label}] ${Date.now() - healedAt} ms after healing: applied ${applied - 1} of ${appended}, JetStream pending ${left}, health ${JSON.stringify(sub.health())}`);
      })();
    }, 10_000);
    await waitFor('every pending event applied', async () => (await appliedCount(db, name)) >= appended + 1, 90_000, 200);
    const recoveryMs = Date.now() - healedAt;
    clearInterval(progress);
    await waitFor('the consumer healthy again', () => !sub.health().unhealthy, 30_000, 100);
    const healthyAfterMs = Date.now() - healedAt;
    await sleep(1_000); // late redeliveries (duplicates) would show now
    const result = await tally(db, name);
    const inbox = await count(db, 'inbox', `consumer = '${name}'`);
    const retries = (await registry.getSingleMetric('trm_consumer_messages_total')!.get()).values.find((v) => v.labels.outcome === 'retry')?.value ?? 0;
    const { rows: stuck } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
      where application_name = ${applicationName} and state like 'idle in transaction%'`.execute(db);

    console.info(
      `[${s.label}] ${s.outageMs / 1000} s fault; events pending ${pending} (JetStream: ${pendingAtEnd} still pending at its end), ` +
        `applied during it ${duringOutage.handled - 1}, dead letters ${result.deadLetters}, lost ${result.lost}; ` +
        `failed attempts ${retries}; unhealthy after ${unhealthySeen.firstAtMs} ms of fault, healthy again ${healthyAfterMs} ms after healing; ` +
        `recovery (all applied) ${recoveryMs} ms after healing; duplicates ${result.duplicates}, out of order ${result.outOfOrder}; ` +
        `consumer sessions left idle in transaction: ${stuck[0]!.n}`,
    );

    expect(appended).toBe(s.streams * s.eventsPerStream);
    expect(pending).toBe(appended);
    // Nothing was applied or given up on while the database was away…
    expect(duringOutage).toMatchObject({ handled: 1, deadLetters: 0 });
    expect(pendingAtEnd).toBe(appended);
    // …the consumer said it was failing, and no longer once the database came back…
    expect(unhealthySeen.firstAtMs).not.toBeNull();
    expect(healthAtEnd.unhealthy).toBe(true);
    expect(healthAtEnd.lastError).toBeTruthy();
    expect(sub.health()).toMatchObject({ unhealthy: false, failingSince: null });
    // …and every event was applied exactly once, in its stream's order: 0 lost.
    expect(result).toEqual({ events: appended + 1, handled: appended + 1, duplicates: 0, extra: 0, outOfOrder: 0, badStart: 0, deadLetters: 0, lost: 0 });
    expect(inbox).toBe(appended + 1);
    return { pending, lost: result.lost, recoveryMs, unhealthyAfterMs: unhealthySeen.firstAtMs };
  } finally {
    clearInterval(progress);
    // The proxy first: with it gone, whatever still waits on a held connection fails at once.
    await proxy.close();
    await relay?.stop().catch(() => {});
    await consumer?.stop().catch(() => {});
    await consumerDb.destroy().catch(() => {});
    await relayBus.deleteStream().catch(() => {});
    await relayBus.close().catch(() => {});
    await consumerBus.close().catch(() => {});
    await database.tearDown();
  }
}
