import { type Db, createPgliteDb } from '@trm/db';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { metadata, migrateEventStore } from '../test/database.js';
import { START_OF_LOG, createEventStore } from './index.js';

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
