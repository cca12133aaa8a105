import { createPgliteDb, migrate } from '@trm/db';
import { createEventStore } from '@trm/event-store';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../test/helpers.js';
import { startConsumer } from './consumer.js';
import { InProcessBus } from './in-process-bus.js';
import { loadRelayCheckpoint } from './checkpoints.js';
import { type Relay, startRelay } from './relay.js';

const SCHEMA = 'referrals_embedded';
let pglite: Awaited<ReturnType<typeof createPgliteDb>>;
let relay: Relay | undefined;
const store = createEventStore({ schema: SCHEMA, onAppended: () => relay?.wake() });
const metadata = { actor: 'system:test', organisation: 'org-test', correlationId: 'corr', causationId: null, requestId: null };

beforeAll(async () => {
  pglite = await createPgliteDb(undefined);
  await migrate(pglite.db, { schema: SCHEMA, service: 'none' });
});

afterAll(async () => {
  await relay?.stop();
  await pglite?.close();
});

it('embedded mode (PGlite, in-process bus, no LISTEN, no lock): the onAppended wake-up relays every event once', async () => {
  const { db } = pglite;
  const bus = new InProcessBus();
  const seen = new Map<string, number>();
  const consumer = await startConsumer({
    db,
    schema: SCHEMA,
    name: 'embedded-test',
    bus,
    filterSubject: 'trm.referrals.>',
    handle: async (tx, e) => {
      await sql`select 1`.execute(tx);
      seen.set(e.eventId, (seen.get(e.eventId) ?? 0) + 1);
    },
  });
  // pollMs of a minute: only the store's onAppended can make this fast.
  relay = await startRelay({ db, store, schema: SCHEMA, service: 'referrals', bus, batchSize: 50, pollMs: 60_000 });
  const ids: string[] = [];
  for (let s = 0; s < 20; s++) {
    const r = await store.append(db, `case-embedded-${s}`, Array.from({ length: 10 }, (_, i) => ({ type: 'CaseNotified', data: { caseId: `e${s}`, i } })), {
      expectedVersion: 'no_stream',
      metadata,
    });
    ids.push(...r.events.map((e) => e.eventId));
  }
  await waitFor('every event handled', () => seen.size === ids.length, 10_000);
  await relay.caughtUp();
  expect([...seen.values()].every((n) => n === 1)).toBe(true);
  const last = (await store.readGlobal(db, { transactionId: '0', globalPosition: '0' }, 1_000)).at(-1)!;
  expect(await loadRelayCheckpoint(db, SCHEMA, 'referrals')).toEqual(store.checkpointOf(last));
  await relay.stop();
  relay = undefined;
  await consumer.stop();
});
