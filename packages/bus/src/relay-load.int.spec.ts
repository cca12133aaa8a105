import { createEventStore } from '@trm/event-store';
import { natsUrl } from '@trm/testing';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SCHEMA, randomStream, setUpDatabase, waitFor } from '../test/helpers.js';
import { recordingConsumer } from '../test/recording-consumer.js';
import { type JetStreamBus, connectJetStreamBus } from './jetstream-bus.js';
import { type Relay, startRelay } from './relay.js';

const WRITERS = 32;
const TARGET_EVENTS = 50_000;
const EVENTS_PER_APPEND = 25;
const ROLLBACK_RATE = 0.1;

let database: Awaited<ReturnType<typeof setUpDatabase>>;
let bus: JetStreamBus;
let replicaBus: JetStreamBus;
let relay: Relay | undefined;
const store = createEventStore({ schema: SCHEMA, onAppended: () => relay?.wake() });
const metadata = { actor: 'system:test', organisation: 'org-test', correlationId: 'corr', causationId: null, requestId: null };

class RolledBack extends Error {}

beforeAll(async () => {
  database = await setUpDatabase(WRITERS + 8);
  const stream = randomStream();
  bus = await connectJetStreamBus({ servers: natsUrl(), ...stream });
  // The second replica's own connection: closing it mid-stream is that replica dying.
  replicaBus = await connectJetStreamBus({ servers: natsUrl(), ...stream });
});

afterAll(async () => {
  await relay?.stop();
  await bus?.deleteStream().catch(() => {});
  await bus?.close();
  await replicaBus?.close().catch(() => {});
  await database?.tearDown();
});

it(`delivers every committed event exactly once, in stream order, and no rolled-back one: ${WRITERS} concurrent writers, ${TARGET_EVENTS} events, two replicas, one killed midway`, async () => {
  const { db, url } = database;
  const registry = new Registry();
  // Two replicas sharing one durable, as two processes of a service would; B dies midway.
  const consumerA = await recordingConsumer(db, bus, 'load-test', { concurrency: 100, batchSize: 50, metrics: registry, ackWaitMs: 5_000 });
  const consumerB = await recordingConsumer(db, replicaBus, 'load-test', { concurrency: 100, batchSize: 50, metrics: registry, ackWaitMs: 5_000 });
  const started = Date.now();
  let killedAt: number | undefined;
  const killer = setInterval(async () => {
    if (killedAt !== undefined || (await consumerA.handledCount()) < TARGET_EVENTS / 2) return;
    killedAt = Date.now() - started;
    // No drain, no acks for what it holds: JetStream hands its deliveries to A after ack wait,
    // including the ones whose transaction had committed (the stream positions drop those).
    await replicaBus.nc.close();
    console.info(`${killedAt} ms: replica B killed`);
  }, 250);
  relay = await startRelay({ db, store, schema: SCHEMA, service: 'referrals', bus, batchSize: 500, pollMs: 250, metrics: registry, lagIntervalMs: 500 });

  const progress = setInterval(async () => {
    const published = (await registry.getSingleMetric('trm_relay_published_total')!.get()).values[0]?.value;
    const lag = (await registry.getSingleMetric('trm_relay_lag_events')!.get()).values[0]?.value;
    console.info(`${Date.now() - started} ms: committed ${committed}, published ${published}, relay lag ${lag}, handled ${await consumerA.handledCount()}`);
  }, 5_000);
  let committed = 0;
  let rolledBack = 0;
  let stream = 0;
  const writer = async (w: number) => {
    while (committed < TARGET_EVENTS) {
      const streamId = `case-load-${w}-${stream++}`;
      const events = Array.from({ length: EVENTS_PER_APPEND }, (_, i) => ({ type: i === 0 ? 'CaseNotified' : 'CaseUpdated', data: { caseId: streamId, i } }));
      const rollback = Math.random() < ROLLBACK_RATE;
      try {
        await db.transaction().execute(async (tx) => {
          await store.append(tx, streamId, events, { expectedVersion: 'no_stream', metadata });
          // Hold the transaction open a little: commits then land out of position order.
          await new Promise((r) => setTimeout(r, Math.random() * 10));
          if (rollback) throw new RolledBack();
        });
        committed += EVENTS_PER_APPEND;
        store.notifyAppended();
      } catch (err) {
        if (!(err instanceof RolledBack)) throw err;
        rolledBack += EVENTS_PER_APPEND;
      }
      await new Promise((r) => setTimeout(r, Math.random() * 5));
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  const writtenMs = Date.now() - started;

  await waitFor('every committed event handled', async () => (await consumerA.handledCount()) >= committed, 90_000, 250);
  await new Promise((r) => setTimeout(r, 500));
  clearInterval(progress);
  clearInterval(killer);
  expect(killedAt).toBeDefined();
  const result = await consumerA.check();
  const elapsedMs = Date.now() - started;
  console.info(`load: ${committed} committed, ${rolledBack} rolled back; written in ${writtenMs} ms, all handled after ${elapsedMs} ms`);

  expect(committed).toBeGreaterThanOrEqual(TARGET_EVENTS);
  expect(rolledBack).toBeGreaterThan(0);
  // Every stream's events were applied in version order, though two replicas took them at once.
  expect(result).toEqual({ duplicates: 0, missing: 0, extra: 0, handled: committed, outOfOrder: 0 });
  const published = (await registry.getSingleMetric('trm_relay_published_total')!.get()).values[0]?.value;
  expect(published).toBe(committed);
  await new Promise((r) => setTimeout(r, 600));
  expect((await registry.getSingleMetric('trm_relay_lag_events')!.get()).values[0]?.value).toBe(0);
  await consumerA.subscription.stop();
  await consumerB.subscription.stop().catch(() => {});
}, 120_000);
