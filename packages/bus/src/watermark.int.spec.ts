import { createEventStore } from '@trm/event-store';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SCHEMA, setUpDatabase, waitFor } from '../test/helpers.js';
import { recordingConsumer } from '../test/recording-consumer.js';
import { eventSubject } from './bus.js';
import { InProcessBus } from './in-process-bus.js';
import { toEnvelope } from './relay.js';
import { advanceCompleteMark } from './watermark.js';

let database: Awaited<ReturnType<typeof setUpDatabase>>;
beforeAll(async () => {
  database = await setUpDatabase();
});
afterAll(async () => database?.tearDown());

const metadata = { actor: 'system:test', organisation: 'org', correlationId: 'c', causationId: null, requestId: null };

it('says complete up to the last event with none missing before it, not the last one applied', async () => {
  const { db } = database;
  const bus = new InProcessBus({ subjectsPrefix: 'wm' });
  const store = createEventStore({ schema: SCHEMA });
  const consumer = await recordingConsumer(db, bus, 'watermark-test');
  const a = (await store.append(db, 'case-wm-a', [{ type: 'CaseNotified', data: {} }], { expectedVersion: 'no_stream', metadata })).events[0]!;
  const b = (await store.append(db, 'case-wm-b', [{ type: 'CaseNotified', data: {} }], { expectedVersion: 'no_stream', metadata })).events[0]!;
  const c = (await store.append(db, 'case-wm-c', [{ type: 'CaseNotified', data: {} }], { expectedVersion: 'no_stream', metadata })).events[0]!;
  const deliver = (e: typeof a) =>
    bus.publish({ subject: eventSubject('wm', 'referrals', e.type), msgId: e.eventId, data: new TextEncoder().encode(JSON.stringify(toEnvelope('referrals', e))) });
  const mark = () => advanceCompleteMark(db, { schema: SCHEMA, consumer: 'watermark-test', source: 'referrals', sourceSchema: SCHEMA });

  // b and c arrive first (a's message is late): 2 events applied, but a is missing, so nothing is complete.
  await deliver(b);
  await deliver(c);
  await waitFor('b and c applied', async () => (await consumer.handledCount()) === 2);
  expect(await mark()).toEqual({ transactionId: '0', globalPosition: '0' });

  await deliver(a);
  await waitFor('a applied', async () => (await consumer.handledCount()) === 3);
  expect(await mark()).toEqual({ transactionId: c.transactionId, globalPosition: c.globalPosition });
  // Incremental and stored: asking again reads nothing new and says the same.
  expect(await mark()).toEqual({ transactionId: c.transactionId, globalPosition: c.globalPosition });
  await consumer.subscription.stop();
});
