import { jetstreamManager } from '@nats-io/jetstream';
import { createEventStore } from '@trm/event-store';
import { natsUrl } from '@trm/testing';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { appendStreams, appliedCount, createHandledTable, faultConsumer, metadata, sleep, startWipeableNats, tally } from '../test/fault-helpers.js';
import { SCHEMA, randomStream, setUpDatabase, waitFor } from '../test/helpers.js';
import { loadRelayCheckpoint } from './checkpoints.js';
import type { ConsumerSubscription } from './consumer.js';
import { type JetStreamBus, connectJetStreamBus } from './jetstream-bus.js';
import { type Relay, startRelay } from './relay.js';
import { sameDatabaseSource } from './source.js';

// Issue 16, found 3: a lost stream or durable was never recreated (consume() waited for it inside
// the library for ever, the relay never called ensureStream), and after a wiped NATS store the
// relay's checkpoint was past everything: what consumers had not handled was gone for them.

const five = (tag: string, from = 0) => (s: number) => Array.from({ length: 5 }, (_, i) => ({ type: 'CaseNotified', data: { caseId: `${tag}-${s}`, i: from + i } }));

async function rewinds(registry: Registry): Promise<number> {
  return (await registry.getSingleMetric('trm_relay_rewinds_total')?.get())?.values.reduce((n, v) => n + v.value, 0) ?? 0;
}

it('the JetStream stream deleted while the relay and a consumer run: recreated, and every event, before and after, applied within 30 s', async () => {
  const database = await setUpDatabase();
  const { db } = database;
  const stream = randomStream();
  // Three connections, as three processes: the relay's, the consumer's, and an operator's.
  const relayBus = await connectJetStreamBus({ servers: natsUrl(), ...stream });
  const consumerBus = await connectJetStreamBus({ servers: natsUrl(), ...stream });
  const operatorBus = await connectJetStreamBus({ servers: natsUrl(), ...stream });
  let relay: Relay | undefined;
  let sub: ConsumerSubscription | undefined;
  const store = createEventStore({ schema: SCHEMA, onAppended: () => relay?.wake() });
  const registry = new Registry();
  const name = 'stream-deleted';
  try {
    await createHandledTable(db);
    sub = await faultConsumer({ db, bus: consumerBus, name, concurrency: 4, source: sameDatabaseSource(() => SCHEMA) });
    relay = await startRelay({ db, store, schema: SCHEMA, service: 'referrals', bus: relayBus, pollMs: 200, streamCheckMs: 500, metrics: registry });
    const before = await appendStreams(store, db, { streams: 60, tag: 'before', eventsOf: five('before') });
    await waitFor('the first events applied', async () => (await appliedCount(db, name)) === before, 30_000, 100);
    const jsm = await jetstreamManager(operatorBus.nc);
    const infoBefore = await jsm.streams.info(stream.streamName);

    const deletedAt = Date.now();
    await operatorBus.deleteStream();
    // More events: half continue cases whose start went with the stream, half are new cases.
    for (let s = 0; s < 30; s++) await store.append(db, `case-before-${s}`, five('before', 5)(s), { expectedVersion: 5, metadata });
    const after = 30 * 5 + (await appendStreams(store, db, { streams: 30, tag: 'after', eventsOf: five('after') }));
    await waitFor('every event applied after the deletion', async () => (await appliedCount(db, name)) >= before + after, 30_000, 100);
    const recoveryMs = Date.now() - deletedAt;
    await sleep(1_000);
    const result = await tally(db, name);
    const infoAfter = await jsm.streams.info(stream.streamName);
    const republished = await rewinds(registry);
    console.info(
      `[stream deleted] events before ${before}, appended after the deletion ${after}; all applied ${recoveryMs} ms after the deletion; ` +
        `relay rewinds ${republished}; lost ${result.lost}, duplicates ${result.duplicates}, out of order ${result.outOfOrder}, dead letters ${result.deadLetters}`,
    );

    // Recreated, with the configuration it had.
    expect(infoAfter.created).not.toBe(infoBefore.created);
    const config = (c: typeof infoBefore.config) => ({ subjects: c.subjects, storage: c.storage, max_age: c.max_age, max_bytes: c.max_bytes, duplicate_window: c.duplicate_window });
    expect(config(infoAfter.config)).toEqual(config(infoBefore.config));
    expect(republished).toBeGreaterThanOrEqual(1);
    expect(recoveryMs).toBeLessThanOrEqual(30_000);
    expect(result).toEqual({ events: before + after, handled: before + after, duplicates: 0, extra: 0, outOfOrder: 0, badStart: 0, deadLetters: 0, lost: 0 });
  } finally {
    await relay?.stop().catch(() => {});
    await sub?.stop().catch(() => {});
    await operatorBus.deleteStream().catch(() => {});
    for (const b of [relayBus, consumerBus, operatorBus]) await b.close().catch(() => {});
    await database.tearDown();
  }
}, 90_000);

it('nats-server killed -9 with its store wiped while a consumer lags: after the restart every event, old and new, is applied', async () => {
  const database = await setUpDatabase();
  const { db } = database;
  const nats = await startWipeableNats();
  const stream = randomStream();
  let relayBus: JetStreamBus | undefined;
  let consumerBus: JetStreamBus | undefined;
  let relay: Relay | undefined;
  let sub: ConsumerSubscription | undefined;
  const store = createEventStore({ schema: SCHEMA, onAppended: () => relay?.wake() });
  const registry = new Registry();
  const name = 'nats-wiped';
  try {
    relayBus = await connectJetStreamBus({ servers: nats.url, ...stream, publishTimeoutMs: 2_000 });
    consumerBus = await connectJetStreamBus({ servers: nats.url, ...stream });
    await createHandledTable(db);
    // A consumer slower than the relay (5 ms per event): when NATS goes, most of what the relay
    // published and checkpointed is still only in the stream.
    sub = await faultConsumer({ db, bus: consumerBus, name, effect: () => sleep(5), source: sameDatabaseSource(() => SCHEMA) });
    relay = await startRelay({ db, store, schema: SCHEMA, service: 'referrals', bus: relayBus, pollMs: 200, streamCheckMs: 500, metrics: registry });
    const before = await appendStreams(store, db, { streams: 200, tag: 'before', eventsOf: five('before') });
    await relay.caughtUp();
    const checkpoint = await loadRelayCheckpoint(db, SCHEMA, 'referrals');
    await nats.kill();
    await nats.wipe();
    await sleep(1_000);
    // What the consumer had applied by then (including what it still had in hand at the kill).
    const appliedAtKill = await appliedCount(db, name);
    const restartedAt = Date.now();
    await nats.start();
    const after = await appendStreams(store, db, { streams: 40, tag: 'after', eventsOf: five('after') });
    await waitFor('the first event applied after the restart', async () => (await appliedCount(db, name)) > appliedAtKill, 60_000, 100);
    const resumedMs = Date.now() - restartedAt;
    await waitFor('every event applied after the restart', async () => (await appliedCount(db, name)) >= before + after, 90_000, 200);
    const recoveryMs = Date.now() - restartedAt;
    await sleep(1_000);
    const result = await tally(db, name);
    const republished = await rewinds(registry);
    console.info(
      `[NATS store wiped] ${before} events published and checkpointed before the kill, of which ${before - appliedAtKill} not yet applied (pending, only in the wiped store); ` +
        `${after} appended after the restart; applying resumed ${resumedMs} ms and all was applied ${recoveryMs} ms after the restart; relay rewinds ${republished}; ` +
        `lost ${result.lost}, duplicates ${result.duplicates}, out of order ${result.outOfOrder}, dead letters ${result.deadLetters}`,
    );

    expect(checkpoint).toBeDefined();
    expect(before - appliedAtKill).toBeGreaterThan(100);
    expect(republished).toBeGreaterThanOrEqual(1);
    expect(result).toEqual({ events: before + after, handled: before + after, duplicates: 0, extra: 0, outOfOrder: 0, badStart: 0, deadLetters: 0, lost: 0 });
  } finally {
    await relay?.stop().catch(() => {});
    await sub?.stop().catch(() => {});
    for (const b of [relayBus, consumerBus]) await b?.close().catch(() => {});
    await nats.stop();
    await database.tearDown();
  }
}, 150_000);
