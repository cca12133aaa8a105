import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgFixture, metadata, pgFixture, sleep } from '../test/database.js';
import { ConcurrencyError, type Decider, type GlobalCheckpoint, type RecordedEvent, START_OF_LOG, compareCheckpoints, createEventStore } from './index.js';
import { canonicalJson, computeEventHash } from './hash-chain.js';

const schema = 'es_test';
const events = sql.id(schema, 'events');
let fx: PgFixture;
let wakeUps = 0;
const store = createEventStore({ schema, onAppended: () => wakeUps++ });

beforeAll(async () => {
  fx = await pgFixture(schema, 24);
});
afterAll(async () => {
  await fx?.close();
});

/**
 * The visibility horizon is cluster-wide: other test files' open transactions (other databases on
 * the same server) hold readGlobal back for a moment, so wait for what must eventually appear.
 */
async function readGlobalUntil(from: GlobalCheckpoint, want: (e: RecordedEvent) => boolean, count: number): Promise<RecordedEvent[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const seen = (await store.readGlobal(fx.db, from, 100_000)).filter(want);
    if (seen.length >= count || Date.now() > deadline) return seen;
    await sleep(10);
  }
}

const stream = () => `case-${crypto.randomUUID()}`;
const ev = (type: string, n: number) => ({ type, data: { n, nested: { b: 2, a: 1 } } });

describe('append', () => {
  it('appends several events atomically, with UUIDv7 ids, a hash chain and ms recorded time', async () => {
    const id = stream();
    const now = new Date('2026-11-22T10:11:12.345Z');
    const result = await store.append(fx.db, id, [ev('A', 1), ev('B', 2), ev('C', 3)], { expectedVersion: 'no_stream', metadata, now });
    expect(result.nextVersion).toBe(3);
    expect(result.events.map((e) => e.streamVersion)).toEqual([1, 2, 3]);
    expect(new Set(result.events.map((e) => e.transactionId)).size).toBe(1);
    for (const e of result.events) expect(e.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(result.events[0]?.prevHash).toBeNull();
    expect(result.events[1]?.prevHash).toBe(result.events[0]?.hash);
    expect(result.events[0]?.recordedAt).toBe('2026-11-22T10:11:12.345Z');

    // What comes back from jsonb (keys reordered) is what append returned, and still verifies.
    expect(await store.readStream(fx.db, id)).toEqual(result.events);
    expect(await store.readStream(fx.db, id, { fromVersion: 2, toVersion: 2 })).toEqual([result.events[1]]);
    expect(await store.verifyStream(fx.db, id)).toEqual({ ok: true, version: 3 });
    expect(await store.streamVersion(fx.db, id)).toBe(3);
  });

  it('appends a batch larger than one INSERT can carry', async () => {
    const id = stream();
    const batch = Array.from({ length: 2500 }, (_, i) => ev('Bulk', i));
    const result = await store.append(fx.db, id, batch, { expectedVersion: 'no_stream', metadata });
    expect(result.nextVersion).toBe(2500);
    expect(await store.verifyStream(fx.db, id)).toEqual({ ok: true, version: 2500 });
  });

  it('writes nothing when one event of the batch fails', async () => {
    const id = stream();
    await expect(
      store.append(fx.db, id, [ev('A', 1), { type: 'B', data: { bad: Number.NaN } }], { expectedVersion: 'no_stream', metadata }),
    ).rejects.toThrow(/NaN/);
    // A database-side failure in the middle of the insert: jsonb refuses \u0000.
    await expect(
      store.append(fx.db, id, [ev('A', 1), { type: 'B', data: { bad: '\u0000' } }], { expectedVersion: 'no_stream', metadata }),
    ).rejects.toThrow();
    expect(await store.readStream(fx.db, id)).toEqual([]);
  });

  it("refuses 'no_stream' on an existing stream and a wrong version; 'any' and the right version work", async () => {
    const id = stream();
    await store.append(fx.db, id, [ev('A', 1)], { expectedVersion: 'no_stream', metadata });
    const noStream = store.append(fx.db, id, [ev('A', 2)], { expectedVersion: 'no_stream', metadata });
    await expect(noStream).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(noStream).rejects.toMatchObject({ streamId: id, expected: 'no_stream', actual: 1 });
    await expect(store.append(fx.db, id, [ev('A', 2)], { expectedVersion: 0, metadata })).rejects.toMatchObject({ expected: 0, actual: 1 });
    await expect(store.append(fx.db, id, [ev('A', 2)], { expectedVersion: 5, metadata })).rejects.toMatchObject({ expected: 5, actual: 1 });
    expect((await store.append(fx.db, id, [ev('A', 2)], { expectedVersion: 'any', metadata })).nextVersion).toBe(2);
    expect((await store.append(fx.db, id, [ev('A', 3)], { expectedVersion: 2, metadata })).nextVersion).toBe(3);
    expect((await store.append(fx.db, stream(), [ev('A', 1)], { expectedVersion: 'any', metadata })).nextVersion).toBe(1);
    expect((await store.readStream(fx.db, id)).map((e) => e.data)).toEqual([1, 2, 3].map((n) => ({ n, nested: { a: 1, b: 2 } })));
  });

  it('lets exactly one of 20 concurrent writers at the same expected version win', async () => {
    const id = stream();
    await store.append(fx.db, id, [ev('A', 0)], { expectedVersion: 'no_stream', metadata });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.append(fx.db, id, [ev('B', i)], { expectedVersion: 1, metadata })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    for (const r of lost) expect(r.reason).toMatchObject({ name: 'ConcurrencyError', streamId: id, expected: 1, actual: 2 });
    expect((await store.readStream(fx.db, id)).map((e) => e.streamVersion)).toEqual([1, 2]);
  });

  it("queues concurrent 'any' writers in callers' transactions", async () => {
    const id = stream();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        fx.db.transaction().execute(async (tx) => {
          await store.append(tx, id, [ev('A', i)], { expectedVersion: 'any', metadata });
          await sleep(5);
          await store.append(tx, id, [ev('B', i)], { expectedVersion: 'any', metadata });
        }),
      ),
    );
    const types = (await store.readStream(fx.db, id)).map((e) => e.type);
    // Each transaction's two events are adjacent: the lock is held to its end.
    expect(types).toEqual(Array.from({ length: 10 }, () => ['A', 'B']).flat());
    expect(await store.verifyStream(fx.db, id)).toEqual({ ok: true, version: 20 });
  });

  it("queues 20 concurrent 'any' writers instead of failing them", async () => {
    const id = stream();
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.append(fx.db, id, [ev('A', i), ev('B', i)], { expectedVersion: 'any', metadata })));
    expect(await store.verifyStream(fx.db, id)).toEqual({ ok: true, version: 40 });
  });

  it('turns a unique violation from a writer that read an old snapshot into a ConcurrencyError', async () => {
    // REPEATABLE READ keeps the snapshot taken before the other writer committed: the stream lock
    // cannot help, the (stream_id, stream_version) constraint does.
    const id = stream();
    await store.append(fx.db, id, [ev('A', 1)], { expectedVersion: 'no_stream', metadata });
    const attempt = fx.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (tx) => {
        await store.readStream(tx, id);
        await store.append(fx.db, id, [ev('B', 2)], { expectedVersion: 1, metadata });
        await store.append(tx, id, [ev('C', 2)], { expectedVersion: 1, metadata });
      });
    await expect(attempt).rejects.toMatchObject({ name: 'ConcurrencyError', streamId: id, expected: 1, actual: null });
    expect((await store.readStream(fx.db, id)).map((e) => e.type)).toEqual(['A', 'B']);
  });

  it('chains in SQL (events_append) exactly as computeEventHash does, whatever the content', async () => {
    const id = stream();
    const awkward = [
      { type: 'Unicode', data: { é: 'café ☕ 😀 中文', z: [1, -0.5, 1e21, 2e-7], a: { y: null, b: true } } },
      { type: 'Escapes', data: { s: 'quote " backslash \\ newline \n tab \t ctl \u001f slash /', '': 'empty key' } },
      { type: 'Scalar', data: 'just a string', schemaVersion: 3 },
    ];
    const first = await store.append(fx.db, id, awkward, { expectedVersion: 'no_stream', metadata });
    const second = await store.append(fx.db, id, [ev('After', 4)], { expectedVersion: 3, metadata });
    let prev: string | null = null;
    for (const e of [...first.events, ...second.events]) {
      expect(e.prevHash).toBe(prev);
      expect(e.hash).toBe(computeEventHash(prev, e));
      prev = e.hash;
    }
    expect(await store.readStream(fx.db, id)).toEqual([...first.events, ...second.events]);
    expect(await store.verifyStream(fx.db, id)).toEqual({ ok: true, version: 4 });
  });

  it('events_append refuses canonical bytes that are not the next versions of its stream', async () => {
    const id = stream();
    const fields = {
      eventId: crypto.randomUUID(),
      streamId: id,
      streamVersion: 2,
      type: 'A',
      schemaVersion: 1,
      data: {},
      metadata,
      recordedAt: new Date().toISOString(),
    };
    const call = (expected: number, doc: object) =>
      sql`select * from ${sql.id(schema, 'events_append')}(${id}, ${expected}::int, ${[canonicalJson(doc)]}::text[])`.execute(fx.db);
    await expect(call(0, fields)).rejects.toThrow(/not version 1/);
    await expect(call(0, { ...fields, streamVersion: 1, streamId: 'other' })).rejects.toThrow(/not version 1/);
    await expect(call(1, fields)).rejects.toMatchObject({ code: 'P0409', detail: '0' });
    expect(await store.readStream(fx.db, id)).toEqual([]);
  });

  it("reports the actual version of a stale expectation, also inside the caller's transaction", async () => {
    const id = stream();
    await store.append(fx.db, id, [ev('A', 1)], { expectedVersion: 'no_stream', metadata });
    await expect(
      fx.db.transaction().execute((tx) => store.append(tx, id, [ev('B', 2)], { expectedVersion: 3, metadata })),
    ).rejects.toMatchObject({ name: 'ConcurrencyError', streamId: id, expected: 3, actual: 1 });
    await expect(
      fx.db.transaction().execute((tx) => store.append(tx, id, [ev('B', 2)], { expectedVersion: 'no_stream', metadata })),
    ).rejects.toMatchObject({ name: 'ConcurrencyError', expected: 'no_stream', actual: 1 });
    expect(await store.streamVersion(fx.db, id)).toBe(1);
  });

  it('runs inside the caller transaction: a rollback removes the events, onAppended waits for the caller', async () => {
    const id = stream();
    const before = wakeUps;
    await expect(
      fx.db.transaction().execute(async (tx) => {
        await store.append(tx, id, [ev('A', 1)], { expectedVersion: 'no_stream', metadata });
        expect(await store.readStream(tx, id)).toHaveLength(1);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await store.readStream(fx.db, id)).toEqual([]);
    await fx.db.transaction().execute((tx) => store.append(tx, id, [ev('A', 1)], { expectedVersion: 'no_stream', metadata }));
    expect(wakeUps).toBe(before);
    await store.append(fx.db, id, [ev('A', 2)], { expectedVersion: 1, metadata });
    expect(wakeUps).toBe(before + 1);
  });

});

describe('readGlobal', () => {
  it('readGlobalForReplay returns the same events in the same order, without metadata and hashes', async () => {
    const id = stream();
    await store.append(fx.db, id, [ev('A', 1), ev('B', 2)], { expectedVersion: 'no_stream', metadata });
    await readGlobalUntil(START_OF_LOG, (e) => e.streamId === id, 2);
    const full = await store.readGlobal(fx.db, START_OF_LOG, 100_000);
    const replayed = await store.readGlobalForReplay(fx.db, START_OF_LOG, 100_000);
    expect(replayed).toEqual(full.map(({ metadata: _m, prevHash: _p, hash: _h, ...rest }) => rest));
    expect(replayed.filter((e) => e.streamId === id).map((e) => e.type)).toEqual(['A', 'B']);
    const second = await store.readGlobalForReplay(fx.db, store.checkpointOf(full[0]!), 1);
    expect(second).toEqual([replayed[1]]);
  });

  it('reads in (transaction id, position) order from a checkpoint', async () => {
    const id = stream();
    const { events: written } = await store.append(fx.db, id, [ev('A', 1), ev('B', 2)], { expectedVersion: 'no_stream', metadata });
    const mine = await readGlobalUntil(START_OF_LOG, (e) => e.streamId === id, 2);
    expect(mine).toEqual(written);
    // Positions are compared as numbers, not as the decimal strings they travel as (9 < 10).
    const all = await store.readGlobal(fx.db, START_OF_LOG, 100_000);
    expect(all.length).toBeGreaterThan(10);
    for (let i = 1; i < all.length; i++) expect(compareCheckpoints(all[i - 1] as RecordedEvent, all[i] as RecordedEvent)).toBeLessThan(0);
    const first = written[0];
    if (!first) throw new Error('no event');
    const after = await store.readGlobal(fx.db, store.checkpointOf(first), 1);
    expect(after).toEqual([written[1]]);
  });

  it('stops before a transaction that is still open, then delivers it once it commits', async () => {
    const a = stream();
    const b = stream();
    const tail = (await store.readGlobal(fx.db, START_OF_LOG, 100_000)).at(-1);
    const start = tail ? store.checkpointOf(tail) : START_OF_LOG;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const insertedP = new Promise<void>((r) => (inserted = r));
    const slow = fx.db.transaction().execute(async (tx) => {
      await store.append(tx, a, [ev('Slow', 1)], { expectedVersion: 'no_stream', metadata });
      inserted();
      await held;
    });
    await insertedP;
    await store.append(fx.db, b, [ev('Fast', 1)], { expectedVersion: 'no_stream', metadata });
    // The later transaction committed first, yet is not delivered while the earlier one is open.
    expect((await store.readGlobal(fx.db, start, 100_000)).filter((e) => e.streamId === a || e.streamId === b)).toEqual([]);
    release();
    await slow;
    const seen = await readGlobalUntil(start, (e) => e.streamId === a || e.streamId === b, 2);
    expect(seen.map((e) => e.type)).toEqual(['Slow', 'Fast']);
  });
});

describe('append-only', () => {
  it('refuses UPDATE', async () => {
    await store.append(fx.db, stream(), [ev('A', 1)], { expectedVersion: 'no_stream', metadata });
    await expect(sql`update ${events} set event_type = 'X'`.execute(fx.db)).rejects.toThrow(/events are append-only: UPDATE/);
  });

  it('refuses DELETE', async () => {
    await expect(sql`delete from ${events}`.execute(fx.db)).rejects.toThrow(/events are append-only: DELETE/);
  });

  it('refuses TRUNCATE', async () => {
    await expect(sql`truncate ${events}`.execute(fx.db)).rejects.toThrow(/events are append-only: TRUNCATE/);
  });

  it('still refuses with session_replication_role = replica', async () => {
    const attempt = fx.db.transaction().execute(async (tx) => {
      await sql`set local session_replication_role = replica`.execute(tx);
      await sql`delete from ${events}`.execute(tx);
    });
    await expect(attempt).rejects.toThrow(/append-only/);
  });
});

describe('verification', () => {
  it('finds a row changed behind the triggers’ back, naming the stream and version', async () => {
    const id = stream();
    await store.append(fx.db, id, [ev('A', 1), ev('B', 2), ev('C', 3)], { expectedVersion: 'no_stream', metadata });
    expect(await store.verifyAll(fx.db, { batchSize: 100 })).toMatchObject({ ok: true });

    await fx.db.transaction().execute(async (tx) => {
      await sql`alter table ${events} disable trigger user`.execute(tx);
      await sql`update ${events} set data = jsonb_set(data, '{n}', '20') where stream_id = ${id} and stream_version = 2`.execute(tx);
      for (const t of ['events_refuse_update_delete', 'events_refuse_truncate']) await sql`alter table ${events} enable always trigger ${sql.id(t)}`.execute(tx);
    });

    expect(await store.verifyStream(fx.db, id)).toMatchObject({ ok: false, version: 2, reason: expect.stringMatching(/hash mismatch/) });
    const all = await store.verifyAll(fx.db, { batchSize: 100 });
    expect(all).toMatchObject({ ok: false, streamId: id, version: 2 });
    // Other streams before it in the walk were fine.
    expect(all.streams).toBeGreaterThan(0);
  });
});

describe('handleCommand', () => {
  type Command = { type: 'Open'; data: { by: string } } | { type: 'Close'; data: { reason: string } };
  type Event = { type: 'Opened'; data: { by: string } } | { type: 'Closed'; data: { reason: string } };
  type State = { status: 'none' | 'open' | 'closed'; versions: number[] };
  class DomainError extends Error {}
  const decider: Decider<Command, Event, State> = {
    initialState: () => ({ status: 'none', versions: [] }),
    decide(command, state) {
      switch (command.type) {
        case 'Open':
          if (state.status !== 'none') throw new DomainError('already opened');
          return [{ type: 'Opened', data: command.data }];
        case 'Close':
          if (state.status !== 'open') throw new DomainError('not open');
          return [{ type: 'Closed', data: command.data }];
        default: {
          const never: never = command;
          return never;
        }
      }
    },
    evolve(state, event) {
      const versions = event.streamVersion ? [...state.versions, event.streamVersion] : state.versions;
      switch (event.type) {
        case 'Opened':
          return { status: 'open', versions };
        case 'Closed':
          return { status: 'closed', versions };
      }
    },
  };

  it('loads, decides and appends; aggregateStream folds the same state', async () => {
    const id = stream();
    const opened = await store.handleCommand(fx.db, id, decider, { type: 'Open', data: { by: 'a' } }, { metadata });
    expect(opened).toMatchObject({ nextVersion: 1, state: { status: 'open', versions: [1] } });
    expect(opened.events[0]?.type).toBe('Opened');
    const closed = await store.handleCommand(fx.db, id, decider, { type: 'Close', data: { reason: 'done' } }, { metadata, expectedVersion: 1 });
    expect(closed).toMatchObject({ nextVersion: 2, state: { status: 'closed', versions: [1, 2] } });
    expect(await store.aggregateStream(fx.db, id, decider)).toEqual({ version: 2, state: closed.state });
  });

  it('propagates a domain error unchanged and writes nothing', async () => {
    const id = stream();
    const err = await store.handleCommand(fx.db, id, decider, { type: 'Close', data: { reason: 'x' } }, { metadata }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(await store.streamVersion(fx.db, id)).toBe(0);
  });

  it('refuses a stale If-Match before deciding', async () => {
    const id = stream();
    await store.handleCommand(fx.db, id, decider, { type: 'Open', data: { by: 'a' } }, { metadata });
    await expect(
      store.handleCommand(fx.db, id, decider, { type: 'Close', data: { reason: 'x' } }, { metadata, expectedVersion: 0 }),
    ).rejects.toMatchObject({ name: 'ConcurrencyError', expected: 0, actual: 1 });
  });

  it('queues concurrent commands in callers’ transactions: one decides on the other’s result', async () => {
    const id = stream();
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () =>
        fx.db.transaction().execute(async (tx) => {
          const r = await store.handleCommand(tx, id, decider, { type: 'Open', data: { by: 'a' } }, { metadata });
          await sleep(20); // hold the stream lock a while: the others must wait, not fail
          return r;
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DomainError);
    expect(await store.verifyStream(fx.db, id)).toEqual({ ok: true, version: 1 });
  });

  it('decides again, outside a transaction, when another command got in between', async () => {
    const id = stream();
    await store.handleCommand(fx.db, id, decider, { type: 'Open', data: { by: 'a' } }, { metadata });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => store.handleCommand(fx.db, id, decider, { type: 'Close', data: { reason: 'x' } }, { metadata })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DomainError);
    // With an If-Match, a writer that got in between is a conflict with the version it left.
    const id2 = stream();
    await store.handleCommand(fx.db, id2, decider, { type: 'Open', data: { by: 'a' } }, { metadata });
    const ifMatch = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        store.handleCommand(fx.db, id2, decider, { type: 'Close', data: { reason: 'x' } }, { metadata, expectedVersion: 1 }),
      ),
    );
    expect(ifMatch.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of ifMatch) if (r.status === 'rejected') expect(r.reason).toMatchObject({ name: 'ConcurrencyError', expected: 1, actual: 2 });
    expect(await store.verifyStream(fx.db, id2)).toEqual({ ok: true, version: 2 });
  });

  it('queues concurrent commands on one stream: one decides on the other’s result', async () => {
    const id = stream();
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => store.handleCommand(fx.db, id, decider, { type: 'Open', data: { by: 'a' } }, { metadata })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DomainError);
  });
});
