import { migrate } from '@trm/db';
import { createEventStore } from '@trm/event-store';
import { natsUrl } from '@trm/testing';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA, randomStream, setUpDatabase, waitFor } from '../test/helpers.js';
import { recordingConsumer } from '../test/recording-consumer.js';
import { loadRelayCheckpoint } from './checkpoints.js';
import { type JetStreamBus, connectJetStreamBus } from './jetstream-bus.js';
import { relaySignal, startRelay } from './relay.js';

let database: Awaited<ReturnType<typeof setUpDatabase>>;
let bus: JetStreamBus;
const store = createEventStore({ schema: SCHEMA });
const metadata = { actor: 'system:test', organisation: 'org-test', correlationId: 'corr', causationId: null, requestId: null };

beforeAll(async () => {
  database = await setUpDatabase();
  // A short duplicate window, so republished events reach the consumer and its inbox must drop them.
  bus = await connectJetStreamBus({ servers: natsUrl(), ...randomStream(), duplicateWindowMs: 1_000 });
});

afterAll(async () => {
  await bus?.deleteStream().catch(() => {});
  await bus?.close();
  await database?.tearDown();
});

async function appendEvents(streams: number, perStream: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let s = 0; s < streams; s++) {
    const result = await store.append(
      database.db,
      `case-${tag}-${s}`,
      Array.from({ length: perStream }, (_, i) => ({ type: 'CaseNotified', data: { caseId: `${tag}-${s}`, i } })),
      { expectedVersion: 'any', metadata },
    );
    ids.push(...result.events.map((e) => e.eventId));
  }
  return ids;
}

describe('relay', () => {
  it('republishes after a crash between publish and checkpoint; each event is handled exactly once', async () => {
    const { db } = database;
    const registry = new Registry();
    const consumer = await recordingConsumer(db, bus, 'crash-test', { metrics: registry });
    const ids = await appendEvents(3, 10, 'crash');

    let batches = 0;
    let crashed = false;
    const relay1 = await startRelay({
      db, store, schema: SCHEMA, service: 'referrals', bus, name: 'crash-relay', batchSize: 10, pollMs: 100,
      beforeCheckpoint: () => {
        // Batch 1 checkpoints; from batch 2 on the process is "dead" right after its publish.
        if (++batches >= 2 || crashed) {
          crashed = true;
          throw new Error('crash after publish');
        }
      },
    });
    await waitFor('the crash', () => crashed);
    await relay1.stop();
    const saved = await loadRelayCheckpoint(db, SCHEMA, 'crash-relay');
    const all = await store.readGlobal(db, { transactionId: '0', globalPosition: '0' }, 100);
    expect(saved).toEqual(store.checkpointOf(all[9]!));

    // Past the duplicate window: JetStream lets the republished batch through, the inbox must not.
    await new Promise((r) => setTimeout(r, 1_200));
    const relay2 = await startRelay({ db, store, schema: SCHEMA, service: 'referrals', bus, name: 'crash-relay', batchSize: 10, pollMs: 100 });
    await waitFor('every event handled', async () => (await consumer.handledCount()) >= ids.length);
    await relay2.caughtUp();
    await new Promise((r) => setTimeout(r, 300));
    expect(await consumer.check()).toEqual({ duplicates: 0, missing: 0, extra: 0, handled: ids.length, outOfOrder: 0 });
    const dupes = (await registry.getSingleMetric('trm_consumer_messages_total')!.get()).values.find((v) => v.labels.outcome === 'duplicate');
    expect(dupes?.value ?? 0).toBeGreaterThanOrEqual(10);
    expect(await loadRelayCheckpoint(db, SCHEMA, 'crash-relay')).toEqual(store.checkpointOf(all.at(-1)!));
    await relay2.stop();
    await consumer.subscription.stop();
  });

  it('keeps one active relay per schema: a standby takes over when the leader stops, and a bus signal wakes it', async () => {
    const { db, url } = database;
    const consumer = await recordingConsumer(db, bus, 'leader-test');
    const common = { db, store, schema: SCHEMA, service: 'referrals' as const, bus, name: 'leader-relay', standbyRetryMs: 200, pollMs: 60_000 };
    const a = await startRelay(common);
    await waitFor('a leader', () => a.isLeader());
    const b = await startRelay(common);
    await new Promise((r) => setTimeout(r, 500));
    expect(b.isLeader()).toBe(false);

    // pollMs is a minute: only the signal (sent by the committing process) can make this fast.
    const first = await appendEvents(2, 5, 'leader-a');
    bus.signal(relaySignal(SCHEMA));
    await waitFor('first events handled', async () => (await consumer.handledCount()) >= 30 + first.length, 10_000);
    await a.stop();
    await waitFor('b takes the lead', () => b.isLeader(), 10_000);
    const second = await appendEvents(2, 5, 'leader-b');
    bus.signal(relaySignal(SCHEMA));
    await waitFor('second events handled', async () => (await consumer.handledCount()) >= 30 + first.length + second.length, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    // This relay starts from the log's beginning, so it also carries the first test's 30 events.
    expect(await consumer.check()).toEqual({ duplicates: 0, missing: 0, extra: 0, handled: 30 + first.length + second.length, outOfOrder: 0 });
    await b.stop();
    await consumer.subscription.stop();
  });

  it('answers a caughtUp() that comes while a read is running with another read, not after the poll interval', async () => {
    const { db } = database;
    // A schema of its own, empty: the relay's first read finds nothing.
    const schema = 'bus_test_idle';
    await migrate(db, { schema });
    const relay = await startRelay({ db, store: createEventStore({ schema }), schema, service: 'referrals', bus, pollMs: 60_000 });
    try {
      // Called at once: the relay is loading its checkpoint for its first read.
      const answered = await Promise.race([relay.caughtUp().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5_000))]);
      expect(answered).toBe(true);
    } finally {
      await relay.stop();
    }
  });
});
