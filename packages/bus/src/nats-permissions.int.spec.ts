import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createEventStore } from '@trm/event-store';
import { reachable } from '@trm/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA, envelope, setUpDatabase, waitFor } from '../test/helpers.js';
import { recordingConsumer } from '../test/recording-consumer.js';
import { eventSubject } from './bus.js';
import { type JetStreamBus, connectJetStreamBus } from './jetstream-bus.js';
import { natsServerConfig } from './nats-auth.js';
import { type Relay, startRelay } from './relay.js';

/**
 * A real nats-server started with the configuration TRM ships (one user per service, each allowed
 * to publish only its own events): a service whose credentials leak cannot publish in another's
 * name, and the services still work end to end under those permissions.
 */
const PASSWORDS = { referrals: 'pw-referrals', repatriation: 'pw-repatriation', proceedings: 'pw-proceedings', statistics: 'pw-statistics', ledger: 'pw-ledger' };
let server: ChildProcess | undefined;
let dir: string;
let url: string;
let database: Awaited<ReturnType<typeof setUpDatabase>>;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  database = await setUpDatabase();
  dir = await mkdtemp(path.join(os.tmpdir(), 'trm-nats-auth-'));
  const port = await freePort();
  url = `nats://127.0.0.1:${port}`;
  const config = path.join(dir, 'nats-server.conf');
  await writeFile(config, natsServerConfig({ passwords: PASSWORDS, listen: `127.0.0.1:${port}`, storeDir: path.join(dir, 'store') }));
  server = spawn('/usr/sbin/nats-server', ['-c', config], { stdio: 'ignore' });
  await waitFor(`nats-server on ${port}`, () => reachable(url, port, 200), 10_000);
});

afterAll(async () => {
  server?.kill('SIGKILL');
  await database?.tearDown();
  await rm(dir, { recursive: true, force: true });
});

describe('NATS with per-service users', () => {
  it('refuses a connection without credentials', async () => {
    await expect(connect({ servers: url, reconnect: false, timeout: 2_000 })).rejects.toThrow(/authorization/i);
  });

  it("lets repatriation publish nothing in referrals' name, while referrals publishes its own events", async () => {
    const repatriation = await connectJetStreamBus({ servers: url, user: 'repatriation', pass: PASSWORDS.repatriation, publishAttempts: 1, publishTimeoutMs: 2_000 });
    const referrals = await connectJetStreamBus({ servers: url, user: 'referrals', pass: PASSWORDS.referrals });
    try {
      const forged = envelope({ caseId: 'c-1', organisationId: 'police-it' }, 'ParticipantAdded');
      const data = new TextEncoder().encode(JSON.stringify(forged));
      await expect(repatriation.publish({ subject: eventSubject('trm', 'referrals', 'ParticipantAdded'), msgId: forged.eventId, data })).rejects.toThrow();
      // Its own subjects are fine.
      const own = await repatriation.publish({ subject: eventSubject('trm', 'repatriation', 'ReturnRequested'), msgId: envelope({}).eventId, data });
      expect(own.seq).toBeGreaterThan(0);
      const ok = await referrals.publish({ subject: eventSubject('trm', 'referrals', 'ParticipantAdded'), msgId: forged.eventId, data });
      expect(ok.seq).toBeGreaterThan(0);
      // Nor can a service delete the stream that everyone's deliveries depend on.
      const nc = await connect({ servers: url, user: 'ledger', pass: PASSWORDS.ledger });
      try {
        const js = jetstream(nc);
        const jsm = await js.jetstreamManager();
        await expect(jsm.streams.delete('TRM')).rejects.toThrow();
        expect((await jsm.streams.info('TRM')).config.name).toBe('TRM');
      } finally {
        await nc.close();
      }
    } finally {
      await repatriation.close();
      await referrals.close();
    }
  });

  it("carries referrals' events to another service's consumer under those permissions (relay, signal, durable, acks)", async () => {
    const { db } = database;
    const referrals = await connectJetStreamBus({ servers: url, user: 'referrals', pass: PASSWORDS.referrals });
    const repatriation = await connectJetStreamBus({ servers: url, user: 'repatriation', pass: PASSWORDS.repatriation });
    let relay: Relay | undefined;
    try {
      const consumer = await recordingConsumer(db, repatriation, 'repatriation-under-auth');
      const store = createEventStore({ schema: SCHEMA, onAppended: () => relay?.wake() });
      relay = await startRelay({ db, store, schema: SCHEMA, service: 'referrals', bus: referrals, pollMs: 200 });
      const metadata = { actor: 'system:test', organisation: 'anitp', correlationId: 'c', causationId: null, requestId: null };
      for (let i = 0; i < 5; i++) {
        await store.append(db, `case-auth-${i}`, [{ type: 'CaseNotified', data: { i } }, { type: 'ParticipantAdded', data: { i } }], { expectedVersion: 'no_stream', metadata });
      }
      await waitFor('every event applied by the other service', async () => (await consumer.handledCount()) >= 10, 20_000);
      expect(await consumer.check()).toEqual({ duplicates: 0, missing: 0, extra: 0, handled: 10, outOfOrder: 0 });
      await consumer.subscription.stop();
    } finally {
      await relay?.stop();
      await referrals.close();
      await repatriation.close();
    }
  });
});

export type { JetStreamBus };
