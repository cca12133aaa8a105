import type { EventEnvelope } from '@trm/contracts';
import { natsUrl } from '@trm/testing';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA, count, envelope, randomStream, setUpDatabase, waitFor } from '../test/helpers.js';
import type { Bus } from './bus.js';
import { startConsumer } from './consumer.js';
import { InProcessBus } from './in-process-bus.js';
import { type JetStreamBus, connectJetStreamBus } from './jetstream-bus.js';

let database: Awaited<ReturnType<typeof setUpDatabase>>;
let jetStream: JetStreamBus;

beforeAll(async () => {
  database = await setUpDatabase();
  jetStream = await connectJetStreamBus({ servers: natsUrl(), ...randomStream() });
});

afterAll(async () => {
  await jetStream?.deleteStream().catch(() => {});
  await jetStream?.close();
  await database?.tearDown();
});

const encode = (e: unknown) => new TextEncoder().encode(typeof e === 'string' ? e : JSON.stringify(e));

describe.each([
  ['JetStream', 1, () => jetStream as Bus],
  ['JetStream', 10, () => jetStream as Bus],
  ['in-process', 1, () => new InProcessBus({ subjectsPrefix: 'inproc' }) as Bus],
  ['in-process', 10, () => new InProcessBus({ subjectsPrefix: 'inproc' }) as Bus],
])('startConsumer over %s, batches of %i', (label, batchSize, makeBus) => {
  it('retries a poison message maxDeliver times, dead-letters it with its error, and goes on with the next ones', async () => {
    const bus = makeBus();
    const { db } = database;
    const name = `poison-${label}-${batchSize}`;
    const registry = new Registry();
    const attempts = new Map<string, number>();
    const handled: string[] = [];
    const consumer = await startConsumer({
      db,
      schema: SCHEMA,
      name,
      bus,
      // Its own subject: the durables of the other cases read the same stream from its start.
      filterSubject: `${bus.subjectsPrefix}.referrals.${name.toLowerCase()}`,
      maxDeliver: 3,
      batchSize,
      concurrency: batchSize,
      retryDelayMs: () => 50,
      metrics: registry,
      handle: async (tx, e: EventEnvelope) => {
        attempts.set(e.eventId, (attempts.get(e.eventId) ?? 0) + 1);
        // A write that must vanish with the failed transaction.
        await sql`insert into ${sql.table(`${SCHEMA}.inbox`)} (consumer, event_id) values ('side-effect', ${e.eventId}::uuid)`.execute(tx);
        if (e.data.poison) throw new Error('cannot handle this one');
        handled.push(e.eventId);
      },
    });
    const poison = envelope({ poison: true, caseId: 'c1' });
    const good = [1, 2, 3].map((i) => envelope({ caseId: `c${i}` }));
    const subject = `${bus.subjectsPrefix}.referrals.${name.toLowerCase()}`;
    const publishing = Promise.all([poison, ...good].map((e) => bus.publish({ subject, msgId: e.eventId, data: encode(e) })));
    // Not JSON at all: dead-lettered on its first delivery, retrying cannot help.
    const garbage = bus.publish({ subject, msgId: `not-a-uuid-${name}`, data: encode('{oops') });
    await Promise.all([publishing, garbage]);

    await waitFor('dead letters', async () => (await count(db, 'dead_letters', `consumer = '${name}'`)) === 2 && handled.length === 3);
    // A failed batch runs each of its messages again on its own, in the same delivery.
    if (batchSize === 1) expect(attempts.get(poison.eventId)).toBe(3);
    else expect(attempts.get(poison.eventId)).toBeGreaterThanOrEqual(3);
    expect(handled.sort()).toEqual(good.map((e) => e.eventId).sort());
    const { rows } = await sql<{ event_id: string | null; subject: string; error: string; deliveries: number; payload: unknown }>`
      select event_id, subject, error, deliveries, payload from ${sql.table(`${SCHEMA}.dead_letters`)}
      where consumer = ${name} order by event_id nulls last`.execute(db);
    expect(rows[0]).toMatchObject({ event_id: poison.eventId, subject, error: 'cannot handle this one', deliveries: 3 });
    expect((rows[0]!.payload as EventEnvelope).eventId).toBe(poison.eventId);
    expect(rows[1]).toMatchObject({ event_id: null, error: 'message is not JSON', deliveries: 1, payload: null });
    expect(await count(db, 'inbox', `consumer = '${name}'`)).toBe(3);
    expect(await count(db, 'inbox', `consumer = 'side-effect' and event_id = '${poison.eventId}'`)).toBe(0);
    const metric = await registry.getSingleMetric('trm_dead_letters_total')!.get();
    expect(metric.values.find((v) => v.labels.consumer === name)?.value).toBe(2);

    // The same event again (a relay replay): the inbox drops it.
    await bus.publish({ subject, msgId: `${good[0]!.eventId}-again`, data: encode(good[0]) });
    await waitFor('duplicate counted', async () => {
      const m = await registry.getSingleMetric('trm_consumer_messages_total')!.get();
      return m.values.some((v) => v.labels.outcome === 'duplicate' && v.value === 1);
    });
    expect(handled).toHaveLength(3);
    await consumer.stop();
  });
});

describe.each([
  ['JetStream', () => jetStream as Bus],
  ['in-process', () => new InProcessBus({ subjectsPrefix: 'inproc' }) as Bus],
])('startConsumer with handleBatch over %s', (label, _make) => {
  it('forms batches from what waits, runs one batch at a time in delivery order, and never hands over a duplicate', async () => {
    const bus = makeBusOnce(label);
    const { db } = database;
    const name = `ordered-${label}`.replace(/[^A-Za-z0-9_-]/g, '');
    const subject = `${bus.subjectsPrefix}.referrals.${name.toLowerCase()}`;
    const events = Array.from({ length: 300 }, (_, i) => envelope({ i }));
    // The same event under another message id (a relay replay) at the end: the inbox drops it.
    const messages = [...events.map((e) => ({ msgId: e.eventId, e })), { msgId: `${events[5]!.eventId}-again`, e: events[5] }];
    // A backlog, so batches must form. JetStream keeps what was published before the durable
    // existed. The in-process bus delivers only to consumers already there, and its publish
    // resolves once the message is handled: all are published in one turn, in order.
    if (label === 'JetStream') for (const { msgId, e } of messages) await bus.publish({ subject, msgId, data: encode(e) });
    const publishAll = () => Promise.all(messages.map(({ msgId, e }) => bus.publish({ subject, msgId, data: encode(e) })));

    const seen: number[] = [];
    const sizes: number[] = [];
    let inside = 0;
    let overlapped = false;
    const consumer = await startConsumer({
      db,
      schema: SCHEMA,
      name,
      bus,
      filterSubject: subject,
      batchSize: 50,
      handleBatch: async (_tx, envelopes) => {
        if (++inside > 1) overlapped = true;
        sizes.push(envelopes.length);
        await new Promise((r) => setTimeout(r, 5));
        for (const e of envelopes) seen.push(e.data.i as number);
        inside--;
      },
    });
    if (label !== 'JetStream') await publishAll();
    await waitFor('every event handled', () => seen.length >= 300 && sizes.length > 0);
    await waitFor('the replayed duplicate settled', async () => (await count(db, 'inbox', `consumer = '${name}'`)) === 300);
    await new Promise((r) => setTimeout(r, 100));
    await consumer.stop();

    expect(overlapped).toBe(false);
    expect(seen).toEqual(events.map((_, i) => i));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(50);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(sizes.length).toBeLessThan(300);
  });
});

const inProcessBuses = new Map<string, Bus>();
function makeBusOnce(label: string): Bus {
  if (label === 'JetStream') return jetStream;
  let bus = inProcessBuses.get(label);
  if (!bus) inProcessBuses.set(label, (bus = new InProcessBus({ subjectsPrefix: 'inprocordered' })));
  return bus;
}
