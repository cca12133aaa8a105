import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { EventEnvelope } from '@trm/contracts';
import { createEventStore } from '@trm/event-store';
import { natsUrl } from '@trm/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA, count, randomStream, setUpDatabase, waitFor } from '../test/helpers.js';
import { type ConsumerSubscription, startConsumer } from './consumer.js';
import * as doctor from './doctor.js';
import { type JetStreamBus, connectJetStreamBus } from './jetstream-bus.js';
import { type Relay, startRelay } from './relay.js';
import { sameDatabaseSource } from './source.js';

/**
 * The bus doctor against real PostgreSQL and JetStream: one source schema (its events table and
 * relay) and one consumer applying it into an effects table whose unique event id makes a second
 * application fail loudly (so "exactly once" is checked by the database itself).
 */
let database: Awaited<ReturnType<typeof setUpDatabase>>;
let bus: JetStreamBus;
let relay: Relay;
let consumer: ConsumerSubscription;
const store = createEventStore({ schema: SCHEMA });
const NAME = 'doctor-effects';
const poison = new Set<string>();
const metadata = { actor: 'system:test', organisation: 'org-test', correlationId: 'corr', causationId: null, requestId: null };
let scope: doctor.DoctorScope;
const effects = sql.table(`${SCHEMA}.doctor_effects`);

async function start() {
  consumer = await startConsumer({
    db: database.db,
    schema: SCHEMA,
    name: NAME,
    bus,
    filterSubject: `${bus.subjectsPrefix}.referrals.>`,
    source: sameDatabaseSource(() => SCHEMA),
    maxDeliver: 2,
    retryDelayMs: () => 20,
    handle: async (tx, e: EventEnvelope) => {
      if (poison.has(e.streamId) && e.data.poison) throw new Error(`cannot apply ${e.streamId} v${e.streamVersion}`);
      await sql`insert into ${effects} (event_id, stream_id, version) values (${e.eventId}::uuid, ${e.streamId}, ${e.streamVersion})`.execute(tx);
    },
  });
}

beforeAll(async () => {
  database = await setUpDatabase();
  // The production duplicate window (2 min): a replay right after the dead letter must get through anyway.
  bus = await connectJetStreamBus({ servers: natsUrl(), ...randomStream() });
  await sql`create table ${effects} (event_id uuid primary key, stream_id text not null, version int not null)`.execute(database.db);
  relay = await startRelay({ db: database.db, store, schema: SCHEMA, service: 'referrals', bus, pollMs: 100, lease: { ttlMs: 1_000 }, standbyRetryMs: 200 });
  await start();
  scope = {
    services: [{ service: 'referrals', schema: SCHEMA }],
    consumers: [{ schema: SCHEMA, name: NAME, filterSubject: `${bus.subjectsPrefix}.referrals.>` }],
    subjectsPrefix: bus.subjectsPrefix,
  };
});

afterAll(async () => {
  await consumer?.stop();
  await relay?.stop();
  await bus?.deleteStream().catch(() => {});
  await bus?.close();
  await database?.tearDown();
});

async function append(streamId: string, n: number, data: (i: number) => Record<string, unknown> = () => ({})) {
  const { events } = await store.append(
    database.db,
    streamId,
    Array.from({ length: n }, (_, i) => ({ type: 'CaseNotified', data: { caseId: streamId, ...data(i) } })),
    { expectedVersion: 'any', metadata },
  );
  relay.wake();
  return events;
}

const effectsOf = async (streamId: string) =>
  (await sql<{ version: number }>`select version from ${effects} where stream_id = ${streamId} order by version`.execute(database.db)).rows.map((r) => r.version);

/** Every row of the tables a repair may change, to compare before and after. */
async function snapshot() {
  const q = async (query: string) => (await sql.raw<Record<string, unknown>>(query).execute(database.db)).rows;
  return {
    deadLetters: await q(`select id, resolved_at, resolution from ${SCHEMA}.dead_letters order by id`),
    streams: await q(`select consumer, source, stream_id, version from ${SCHEMA}.consumer_streams order by 1, 2, 3`),
    checkpoints: await q(`select relay, transaction_id::text, global_position from ${SCHEMA}.relay_checkpoints order by 1`),
    leases: await q(`select relay, holder from ${SCHEMA}.relay_leases order by 1`),
    effects: await q(`select event_id from ${SCHEMA}.doctor_effects order by 1`),
  };
}

const openDeadLetters = (streamId: string) => count(database.db, 'dead_letters', `consumer = '${NAME}' and stream_id = '${streamId}' and resolved_at is null`);

describe('bus doctor', () => {
  const A = `case-a-${randomUUID()}`;
  const B = `case-b-${randomUUID()}`;
  const D = `case-d-${randomUUID()}`;

  it('reports dead letters (which one blocks its stream) and the lag they cause', async () => {
    poison.add(A);
    await append(A, 3, (i) => ({ poison: i === 0 }));
    await append(B, 2);
    await waitFor('A dead-lettered, B applied', async () => (await openDeadLetters(A)) === 3 && (await effectsOf(B)).length === 2);

    const r = await doctor.report(database.db, scope, { gapGraceMs: 0 });
    const c = r.consumers.find((x) => x.name === NAME)!;
    expect(c).toMatchObject({ filterKnown: true, streamsTracked: 1 });
    expect(c.inbox).toBe(2);
    expect(c.deadLetters.open).toBe(3);
    const items = c.deadLetters.items.filter((d) => d.streamId === A).sort((x, y) => x.version! - y.version!);
    expect(items.map((d) => [d.version, d.blocksStream])).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ]);
    expect(items[0]!.waitsBehind).toBeNull();
    expect(items[0]!.error).toBe(`cannot apply ${A} v1`);
    expect(items[1]!.waitsBehind).toBe(items[0]!.id);
    expect(items[1]!.error).toMatch(/waits behind the dead-lettered version 1/);
    expect(c.lag).toEqual([expect.objectContaining({ source: 'referrals', events: 3, streams: 1, blockedStreams: 1, gapStreams: 0 })]);
    expect(c.gaps).toEqual([]);
    const rel = r.relays.find((x) => x.relay === `${SCHEMA}.referrals`)!;
    expect(rel.eventsBehind).toBe(0);
    expect(rel.lease?.expired).toBe(false);
    expect(r.healthy).toBe(false);
    expect(r.findings.join('\n')).toContain(`replay --dead-letter ${items[0]!.id}`);
    expect(doctor.formatReport(r)).toContain(items[0]!.id);
  });

  it('changes nothing in a dry run, whatever the repair', async () => {
    const before = await snapshot();
    const dl = (await doctor.report(database.db, scope)).consumers[0]!.deadLetters.items.find((d) => d.streamId === A && d.version === 1)!;
    const replay = await doctor.replayDeadLetter(database.db, scope, { deadLetter: dl.id }, { redeliver: doctor.redelivererFor(bus) });
    expect(replay).toMatchObject({ dryRun: true, changed: false, outcome: null });
    expect(replay.changes.join('\n')).toMatch(/resolve 3 open dead letter/);
    const discard = await doctor.discardDeadLetter(database.db, scope, dl.id, { redeliver: doctor.redelivererFor(bus) });
    expect(discard).toMatchObject({ dryRun: true, changed: false });
    expect(discard.changes.join('\n')).toMatch(/move doctor-effects .* from version 0 to 1/);
    const reset = await doctor.resetCheckpoint(database.db, scope, `${SCHEMA}.referrals`, { leaseTtlMs: 1_000 });
    expect(reset).toMatchObject({ dryRun: true, changed: false });
    await new Promise((r) => setTimeout(r, 300));
    expect(await snapshot()).toEqual(before);
  });

  it('replays a dead letter once its cause is fixed: the consumer applies the stream in order and the dead letters are resolved', async () => {
    const dl = (await doctor.report(database.db, scope)).consumers[0]!.deadLetters.items.find((d) => d.streamId === A && d.version === 1)!;
    poison.delete(A);
    const result = await doctor.replayDeadLetter(database.db, scope, { deadLetter: dl.id }, { dryRun: false, redeliver: doctor.redelivererFor(bus), waitMs: 20_000 });
    expect(result.outcome).toMatchObject({ state: 'applied', appliedVersion: 3 });
    expect(await effectsOf(A)).toEqual([1, 2, 3]);
    expect(await openDeadLetters(A)).toBe(0);
    expect(await count(database.db, 'dead_letters', `stream_id = '${A}' and resolution = 'replayed'`)).toBe(3);
    // Resolved: a second replay is refused, and says why.
    await expect(doctor.replayDeadLetter(database.db, scope, { deadLetter: dl.id }, { dryRun: false })).rejects.toMatchObject({ kind: 'refused' });
  });

  it('discards a dead letter: its version is skipped and the later versions that waited behind it are applied', async () => {
    poison.add(D);
    await append(D, 3, (i) => ({ poison: i === 0 }));
    await waitFor('D dead-lettered', async () => (await openDeadLetters(D)) === 3);
    const items = (await doctor.report(database.db, scope)).consumers[0]!.deadLetters.items.filter((d) => d.streamId === D).sort((x, y) => x.version! - y.version!);
    // One that only waits is not the one to discard.
    await expect(doctor.discardDeadLetter(database.db, scope, items[1]!.id, { dryRun: false })).rejects.toMatchObject({ kind: 'refused' });
    const result = await doctor.discardDeadLetter(database.db, scope, items[0]!.id, { dryRun: false, redeliver: doctor.redelivererFor(bus), waitMs: 20_000 });
    expect(result.outcome).toMatchObject({ state: 'applied', appliedVersion: 3 });
    expect(await effectsOf(D)).toEqual([2, 3]);
    expect(await openDeadLetters(D)).toBe(0);
    const { rows } = await sql<{ stream_version: number; resolution: string }>`select stream_version, resolution from ${sql.table(`${SCHEMA}.dead_letters`)}
      where stream_id = ${D} order by stream_version`.execute(database.db);
    expect(rows).toEqual([
      { stream_version: 1, resolution: 'discarded' },
      { stream_version: 2, resolution: 'replayed' },
      { stream_version: 3, resolution: 'replayed' },
    ]);
  });

  it('reports a gap (a message the bus lost) and fills it by replaying the stream for the consumer', async () => {
    const G = `case-g-${randomUUID()}`;
    await consumer.stop();
    const [e] = await append(G, 1);
    await relay.caughtUp();
    // The message is gone from the stream before the consumer saw it.
    const jsm = await jetstreamManager(bus.nc);
    const info = await jsm.streams.info(bus.streamName);
    const msg = await jsm.streams.getMessage(bus.streamName, { seq: info.state.last_seq });
    expect(msg?.header.get('Nats-Msg-Id')).toBe(e!.eventId);
    await jsm.streams.deleteMessage(bus.streamName, info.state.last_seq);
    await start();
    await new Promise((r) => setTimeout(r, 500));

    const r = await doctor.report(database.db, scope, { gapGraceMs: 0 });
    expect(r.consumers[0]!.gaps).toEqual([expect.objectContaining({ source: 'referrals', streamId: G, applied: 0, firstMissing: 1, lastMissing: 1, events: 1 })]);
    expect(r.findings.join('\n')).toContain(`replay --consumer ${NAME} --stream referrals/${G}`);
    const result = await doctor.replayDeadLetter(database.db, scope, { consumer: NAME, stream: `referrals/${G}` }, { dryRun: false, redeliver: doctor.redelivererFor(bus), waitMs: 20_000 });
    expect(result.outcome).toMatchObject({ state: 'applied', appliedVersion: 1 });
    expect(await effectsOf(G)).toEqual([1]);
  });

  it('resets a relay checkpoint to the start: the running relay publishes everything again and the effect stays exactly once', async () => {
    const jsm = await jetstreamManager(bus.nc);
    // A short duplicate window, so what is published again is stored and delivered, and the consumer must drop it.
    const info = await jsm.streams.info(bus.streamName);
    await jsm.streams.update(bus.streamName, { ...info.config, duplicate_window: nanos(200) });
    await new Promise((r) => setTimeout(r, 400));
    const lastSeq = async () => (await jsm.streams.info(bus.streamName)).state.last_seq;
    const before = await lastSeq();
    const { rows: all } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`${SCHEMA}.events`)}`.execute(database.db);
    const effectsBefore = await count(database.db, 'doctor_effects');
    const deadBefore = await count(database.db, 'dead_letters');

    const result = await doctor.resetCheckpoint(database.db, scope, `${SCHEMA}.referrals`, { dryRun: false, leaseTtlMs: 1_000 });
    expect(result).toMatchObject({ changed: true, outcome: { state: 'republishing' } });
    await waitFor('every event published again', async () => (await lastSeq()) >= before + all[0]!.n, 20_000);
    await waitFor('the consumer was given them all', async () => (await jsm.consumers.info(bus.streamName, NAME)).delivered.stream_seq >= before + all[0]!.n, 20_000);
    // A new event after the reset arrives once too (and, one delivery at a time, after the republished ones).
    await append(B, 1);
    await waitFor('B v3 applied', async () => (await effectsOf(B)).length === 3);
    await new Promise((res) => setTimeout(res, 300));
    expect(await count(database.db, 'doctor_effects')).toBe(effectsBefore + 1);
    expect(await count(database.db, 'dead_letters')).toBe(deadBefore);
    const r = await doctor.report(database.db, scope, { gapGraceMs: 0 });
    expect(r.relays[0]!.eventsBehind).toBe(0);
    expect(r.consumers[0]!.lag).toEqual([expect.objectContaining({ events: 0, streams: 0 })]);
    expect(r.healthy).toBe(true);
  });
});
