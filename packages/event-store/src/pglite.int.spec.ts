import { type Db, createPgliteDb } from '@trm/db';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { metadata, migrateEventStore } from '../test/database.js';
import { START_OF_LOG, createEventStore, type Decider } from './index.js';
import { computeEventHash } from './hash-chain.js';

// The embedded mode: the same migration and queries on PGlite (PostgreSQL 17 in WASM, in memory).
const schema = 'es_embedded';
let pglite: { db: Db; close(): Promise<void> };
let wakeUps = 0;
const store = createEventStore({ schema, onAppended: () => wakeUps++ });

beforeAll(async () => {
  pglite = await createPgliteDb(undefined);
  await migrateEventStore(pglite.db, schema);
});
afterAll(async () => {
  await pglite?.close();
});

it('migrates, appends, reads a stream and the global order, verifies, refuses UPDATE', async () => {
  const { db } = pglite;
  const now = new Date('2026-11-22T08:00:00.123Z');
  const first = await store.append(db, 'case-1', [{ type: 'A', data: { z: 1, a: [1, 2] } }, { type: 'B', data: null }], {
    expectedVersion: 'no_stream',
    metadata,
    now,
  });
  const second = await store.append(db, 'case-2', [{ type: 'C', data: { n: 1 } }], { expectedVersion: 'no_stream', metadata, now });
  expect(wakeUps).toBe(2);
  await expect(store.append(db, 'case-1', [{ type: 'X', data: {} }], { expectedVersion: 1, metadata })).rejects.toMatchObject({
    name: 'ConcurrencyError',
    actual: 2,
  });

  expect(await store.readStream(db, 'case-1')).toEqual(first.events);
  expect(await store.readGlobal(db, START_OF_LOG, 10)).toEqual([...first.events, ...second.events]);
  const firstEvent = first.events[0];
  if (!firstEvent) throw new Error('no event');
  expect(await store.readGlobal(db, store.checkpointOf(firstEvent), 10)).toHaveLength(2);
  expect(await store.verifyAll(db)).toEqual({ ok: true, streams: 2, events: 3 });
  await expect(sql`update ${sql.id(schema, 'events')} set data = '{}'`.execute(db)).rejects.toThrow(/append-only/);
});

it('runs the one-statement append and the locked read of handleCommand (migration 0006) on PGlite', async () => {
  const { db } = pglite;
  const appended = await store.append(db, 'case-3', [{ type: 'U', data: { é: 'café ☕ 😀', s: 'a"\\\n', n: [1e21, -0.5] } }], {
    expectedVersion: 0,
    metadata,
  });
  const [event] = appended.events;
  if (!event) throw new Error('no event');
  expect(event.hash).toBe(computeEventHash(null, event));
  type Ev = { type: 'Counted'; data: { n: number } };
  const counter: Decider<{ type: 'Count' }, Ev, number> = {
    initialState: () => 0,
    decide: (_command, n) => [{ type: 'Counted', data: { n: n + 1 } }],
    evolve: (n) => n + 1,
  };
  const result = await db
    .transaction()
    .execute((tx) => store.handleCommand(tx, 'case-3', counter, { type: 'Count' }, { metadata, expectedVersion: 1 }));
  expect(result).toMatchObject({ nextVersion: 2, state: 2 });
  await expect(store.handleCommand(db, 'case-3', counter, { type: 'Count' }, { metadata, expectedVersion: 1 })).rejects.toMatchObject({
    name: 'ConcurrencyError',
    actual: 2,
  });
  // 'any': the head read under the lock (events_head_locked), then one events_append.
  expect((await store.append(db, 'case-3', [{ type: 'X', data: 1 }], { expectedVersion: 'any', metadata })).nextVersion).toBe(3);
  const inTx = await db.transaction().execute((tx) => store.append(tx, 'case-3', [{ type: 'Y', data: 2 }], { expectedVersion: 'any', metadata }));
  expect(inTx.nextVersion).toBe(4);
  expect(await store.verifyStream(db, 'case-3')).toEqual({ ok: true, version: 4 });
});
