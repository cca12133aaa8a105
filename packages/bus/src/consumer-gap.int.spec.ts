import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SCHEMA, count, envelope, setUpDatabase, waitFor } from '../test/helpers.js';
import { startConsumer } from './consumer.js';
import { InProcessBus } from './in-process-bus.js';

let database: Awaited<ReturnType<typeof setUpDatabase>>;
beforeAll(async () => {
  database = await setUpDatabase();
});
afterAll(async () => database?.tearDown());

const encode = (e: unknown) => new TextEncoder().encode(JSON.stringify(e));

it('lets a newer version wait for its gap however many deliveries that takes, then applies both in order (no source)', async () => {
  const { db } = database;
  const bus = new InProcessBus({ subjectsPrefix: 'gap' });
  const applied: number[] = [];
  const consumer = await startConsumer({
    db,
    schema: SCHEMA,
    name: 'gap-wait',
    bus,
    filterSubject: 'gap.referrals.>',
    // Two deliveries would have been the whole budget: the wait is measured in time instead.
    maxDeliver: 2,
    gapTimeoutMs: 60_000,
    handle: async (_tx, e) => void applied.push(e.streamVersion),
  });
  const streamId = `case-${randomUUID()}`;
  const v1 = envelope({ i: 1 }, 'CaseNotified', { streamId, streamVersion: 1 });
  const v2 = envelope({ i: 2 }, 'ParticipantAdded', { streamId, streamVersion: 2, prevHash: v1.hash });
  const second = bus.publish({ subject: 'gap.referrals.participant-added', msgId: v2.eventId, data: encode(v2) });
  // Long enough for many redeliveries of v2 (it is nak'd while version 1 is missing).
  await new Promise((r) => setTimeout(r, 2_500));
  expect(applied).toEqual([]);
  await bus.publish({ subject: 'gap.referrals.case-notified', msgId: v1.eventId, data: encode(v1) });
  await second;
  await waitFor('both applied', () => applied.length === 2);
  expect(applied).toEqual([1, 2]);
  expect(await count(db, 'dead_letters', `consumer = 'gap-wait'`)).toBe(0);

  // A gap that never fills ends as a visible dead letter once its time is up.
  const lonely = envelope({ i: 9 }, 'ParticipantAdded', { streamId: `case-${randomUUID()}`, streamVersion: 3 });
  const quick = await startConsumer({ db, schema: SCHEMA, name: 'gap-timeout', bus, filterSubject: 'gap.proceedings.>', gapTimeoutMs: 300, handle: async () => {} });
  const subject = 'gap.proceedings.participant-added';
  await bus.publish({ subject, msgId: lonely.eventId, data: encode({ ...lonely, service: 'proceedings' }) }).catch(() => {});
  await waitFor('dead-lettered', async () => (await count(db, 'dead_letters', `consumer = 'gap-timeout'`)) === 1, 10_000);
  await quick.stop();
  await consumer.stop();
});
