import { afterAll, beforeAll, expect, it } from 'vitest';
import { type PgFixture, metadata, pgFixture, sleep } from '../test/database.js';
import { type GlobalCheckpoint, START_OF_LOG, compareCheckpoints, createEventStore } from './index.js';

const schema = 'es_global';
const store = createEventStore({ schema });
const WRITERS = 32;
const TARGET_EVENTS = 50_000;
const STREAMS = 256;
let fx: PgFixture;

beforeAll(async () => {
  fx = await pgFixture(schema, WRITERS + 2);
});
afterAll(async () => {
  await fx?.close();
});

class RollBack extends Error {}

/**
 * The reader runs while 32 writers commit in an order unrelated to their global positions (random
 * pauses between insert and commit) and 10% roll back after inserting. A checkpoint on position
 * alone, or on (transaction id, position) without the xmin bound, skips the late committers and
 * fails the equality below.
 */
it(`a concurrent global reader sees each of ${TARGET_EVENTS} committed events exactly once and no rolled-back one`, async () => {
  const committed = new Set<string>();
  const rolledBack = new Set<string>();
  let writersDone = false;

  async function writer(): Promise<void> {
    while (committed.size < TARGET_EVENTS) {
      const streamId = `load-${Math.floor(Math.random() * STREAMS)}`;
      const count = 1 + Math.floor(Math.random() * 20);
      const rollBack = Math.random() < 0.1;
      let ids: string[] = [];
      try {
        await fx.db.transaction().execute(async (tx) => {
          const { events } = await store.append(
            tx,
            streamId,
            Array.from({ length: count }, (_, i) => ({ type: 'Loaded', data: { i } })),
            { expectedVersion: 'any', metadata },
          );
          ids = events.map((e) => e.eventId);
          await sleep(Math.random() * (rollBack ? 5 : 3));
          if (rollBack) throw new RollBack();
        });
        for (const id of ids) committed.add(id);
      } catch (err) {
        if (!(err instanceof RollBack)) throw err;
        for (const id of ids) rolledBack.add(id);
      }
    }
  }

  const seen = new Set<string>();
  let duplicates = 0;
  let outOfOrder = 0;
  async function reader(): Promise<void> {
    let checkpoint: GlobalCheckpoint = START_OF_LOG;
    // After the writers stop, other test files' transactions on the same server may hold the
    // horizon back for a moment: keep reading until everything arrived or a generous deadline.
    let deadline = Number.POSITIVE_INFINITY;
    for (;;) {
      const batch = await store.readGlobal(fx.db, checkpoint, 1000);
      for (const event of batch) {
        if (seen.has(event.eventId)) duplicates++;
        seen.add(event.eventId);
        const next = store.checkpointOf(event);
        if (compareCheckpoints(next, checkpoint) <= 0) outOfOrder++;
        checkpoint = next;
      }
      if (writersDone) {
        if (deadline === Number.POSITIVE_INFINITY) deadline = Date.now() + 20_000;
        if (seen.size >= committed.size || Date.now() > deadline) return;
      }
      if (batch.length < 1000) await sleep(2);
    }
  }

  const started = Date.now();
  const reading = reader();
  await Promise.all(Array.from({ length: WRITERS }, writer));
  writersDone = true;
  await reading;
  const elapsed = Date.now() - started;

  expect(committed.size).toBeGreaterThanOrEqual(TARGET_EVENTS);
  expect(rolledBack.size).toBeGreaterThan(0);
  expect(duplicates).toBe(0);
  expect(outOfOrder).toBe(0);
  const missed = [...committed].filter((id) => !seen.has(id));
  const ghosts = [...seen].filter((id) => rolledBack.has(id));
  expect({ missed: missed.length, ghosts: ghosts.length }).toEqual({ missed: 0, ghosts: 0 });
  expect(seen.size).toBe(committed.size);

  const verified = await store.verifyAll(fx.db, { batchSize: 5000 });
  expect(verified).toEqual({ ok: true, streams: STREAMS, events: committed.size });
  console.info(`global order: ${committed.size} committed, ${rolledBack.size} rolled back, ${WRITERS} writers, ${elapsed} ms`);
}, 120_000);
