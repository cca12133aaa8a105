import { natsUrl } from '@trm/testing';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { sleep } from '../test/fault-helpers.js';
import { SCHEMA, envelope, randomStream, setUpDatabase, waitFor } from '../test/helpers.js';
import { startConsumer } from './consumer.js';
import { connectJetStreamBus } from './jetstream-bus.js';

// Found while writing the fault tests of issue 16: NATS 2.9 (the Debian server this project runs
// on) does not know `+TERM <reason>`, only `+TERM`; it ignored the consumer's term and redelivered
// every dead-lettered message each ack wait, for ever. Each redelivery rewrote the dead letter
// (its error replaced by "waits behind the dead-lettered version…", resolved_at reset to null):
// a dead letter the operator had discarded came back open and blocked its stream again.
it('a dead-lettered message is not delivered again: its dead letter keeps its error and stays resolved once resolved', async () => {
  const database = await setUpDatabase();
  const { db } = database;
  const bus = await connectJetStreamBus({ servers: natsUrl(), ...randomStream() });
  const name = 'term-test';
  const ackWaitMs = 1_000;
  let attempts = 0;
  const consumer = await startConsumer({
    db,
    schema: SCHEMA,
    name,
    bus,
    filterSubject: `${bus.subjectsPrefix}.referrals.>`,
    maxDeliver: 2,
    ackWaitMs,
    retryDelayMs: () => 50,
    handle: async () => {
      attempts++;
      throw new Error('cannot handle this one');
    },
  });
  const deadLetter = async () => {
    const { rows } = await sql<{ error: string; deliveries: number; resolved_at: Date | null }>`
      select error, deliveries, resolved_at from ${sql.table(`${SCHEMA}.dead_letters`)} where consumer = ${name}`.execute(db);
    return rows;
  };
  try {
    const poison = envelope({ caseId: 'c1' });
    await bus.publish({ subject: `${bus.subjectsPrefix}.referrals.case-notified`, msgId: poison.eventId, data: new TextEncoder().encode(JSON.stringify(poison)) });
    await waitFor('the dead letter', async () => (await deadLetter()).length === 1, 20_000);
    expect(attempts).toBe(2);

    // Several ack waits: a message the server did not take as terminated would be back by now.
    await sleep(4 * ackWaitMs);
    const afterWait = await deadLetter();
    const pending = await consumer.pending();
    // The operator resolves it (what bus:doctor's discard does to the row)…
    await sql`update ${sql.table(`${SCHEMA}.dead_letters`)} set resolved_at = now(), resolution = 'discarded' where consumer = ${name}`.execute(db);
    await sleep(3 * ackWaitMs);
    const afterResolve = await deadLetter();
    console.info(`[term] handler attempts ${attempts}; dead letter after ${4 * ackWaitMs} ms: ${JSON.stringify(afterWait)}; JetStream pending ${pending}; after resolving: resolved ${afterResolve[0]?.resolved_at !== null}`);

    expect(attempts).toBe(2);
    expect(afterWait).toEqual([{ error: 'cannot handle this one', deliveries: 2, resolved_at: null }]);
    expect(pending).toBe(0);
    expect(afterResolve[0]!.resolved_at).not.toBeNull();
  } finally {
    await consumer.stop();
    await bus.deleteStream().catch(() => {});
    await bus.close();
    await database.tearDown();
  }
});
