import { createEventStore } from '@trm/event-store';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SCHEMA, randomStream, setUpDatabase, startPrivateNats, waitFor } from '../test/helpers.js';
import { recordingConsumer } from '../test/recording-consumer.js';
import { type JetStreamBus, connectJetStreamBus } from './jetstream-bus.js';
import { type Relay, startRelay } from './relay.js';

let database: Awaited<ReturnType<typeof setUpDatabase>>;
let nats: Awaited<ReturnType<typeof startPrivateNats>>;
let relayBus: JetStreamBus;
let consumerBus: JetStreamBus;
let relay: Relay | undefined;
const store = createEventStore({ schema: SCHEMA, onAppended: () => relay?.wake() });
const metadata = { actor: 'system:test', organisation: 'org-test', correlationId: 'corr', causationId: null, requestId: null };

beforeAll(async () => {
  database = await setUpDatabase();
  nats = await startPrivateNats();
  const stream = randomStream();
  // Separate connections, as the relay and the consumers would have in separate processes.
  relayBus = await connectJetStreamBus({ servers: nats.url, ...stream, publishTimeoutMs: 2_000 });
  consumerBus = await connectJetStreamBus({ servers: nats.url, ...stream });
});

afterAll(async () => {
  await relay?.stop();
  await relayBus?.close().catch(() => {});
  await consumerBus?.close().catch(() => {});
  await nats?.stop();
  await database?.tearDown();
});

it('survives a NATS kill -9 and restart mid-stream: relay and consumer catch up by themselves, nothing lost', async () => {
  const { db, url } = database;
  const consumer = await recordingConsumer(db, consumerBus, 'restart-test', { concurrency: 4 });
  relay = await startRelay({ db, store, schema: SCHEMA, service: 'referrals', bus: relayBus, batchSize: 100, pollMs: 200 });

  const total = 100 * 20;
  let written = 0;
  const writer = (async () => {
    for (let s = 0; s < 100; s++) {
      await store.append(db, `case-restart-${s}`, Array.from({ length: 20 }, (_, i) => ({ type: 'CaseNotified', data: { caseId: `r${s}`, i } })), {
        expectedVersion: 'no_stream',
        metadata,
      });
      written += 20;
      await new Promise((r) => setTimeout(r, 15));
    }
  })();

  await waitFor('some events handled before the crash', async () => (await consumer.handledCount()) > 200);
  await nats.kill();
  const handledAtKill = await consumer.handledCount();
  await new Promise((r) => setTimeout(r, 1_500));
  await nats.start();
  await writer;
  expect(written).toBe(total);
  expect(handledAtKill).toBeLessThan(total);

  await waitFor('every event handled after the restart', async () => (await consumer.handledCount()) >= total, 45_000, 200);
  await new Promise((r) => setTimeout(r, 300));
  expect(await consumer.check()).toEqual({ duplicates: 0, missing: 0, extra: 0, handled: total, outOfOrder: 0 });
  await consumer.subscription.stop();
});
