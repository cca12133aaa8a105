// A relay in a process of its own, for the leader-liveness test (leader-liveness.int.spec.ts): the
// test freezes it with SIGSTOP, as a stopped container, a debugger or a blocked event loop would.
// Plain Node, no vitest: it runs the built package (packages/bus/dist; `npx tsc -b packages/bus`).
//
// Configuration in TRM_RELAY_CHILD (JSON). Talks to the test over the IPC channel:
//   to the test:   {type:'ready'} {type:'leader', leader} {type:'midBatch'}
//                  {type:'report', published, paused, stale, leader} {type:'error', message}
//   from the test: {cmd:'arm'}  (pause inside the next batch, after reading it and before publishing it)
//                  {cmd:'report'} {cmd:'stop'}
import { createPgDb } from '@trm/db';
import { createEventStore } from '@trm/event-store';
import { connectJetStreamBus, startRelay } from '../dist/index.js';

const cfg = JSON.parse(process.env.TRM_RELAY_CHILD ?? '{}');
const send = (message) => {
  if (process.connected) process.send(message);
};
// The test is gone (crashed, timed out): never outlive it.
process.on('disconnect', () => process.exit(1));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

try {
  const { db } = createPgDb(cfg.databaseUrl, { max: 4, applicationName: 'trm-relay-child', statementTimeoutMs: 10_000, connectionTimeoutMs: 5_000 });
  const bus = await connectJetStreamBus({
    servers: cfg.natsUrl,
    streamName: cfg.streamName,
    subjectsPrefix: cfg.subjectsPrefix,
    duplicateWindowMs: cfg.duplicateWindowMs,
    name: 'trm-relay-child',
  });

  // The relay's bus, with a pause inside one batch when armed: the test stops the process during
  // it, so the batch is published only after the process is continued, by a leader that no
  // longer is one (a stale leader's publishes).
  let armed = false;
  let pause;
  let published = 0;
  let paused = 0;
  let stale = 0;
  const relayBus = {
    get subjectsPrefix() {
      return bus.subjectsPrefix;
    },
    streamState: () => bus.streamState(),
    consume: (o, h) => bus.consume(o, h),
    signal: (t) => bus.signal(t),
    onSignal: (t, l) => bus.onSignal(t, l),
    ready: () => bus.ready(),
    close: () => bus.close(),
    async publish(message) {
      if (armed && !pause) {
        armed = false;
        pause = sleep(cfg.midBatchPauseMs ?? 1_500).then(() => setImmediate(() => (pause = undefined)));
        send({ type: 'midBatch' });
      }
      const wait = pause;
      if (wait) {
        // Every publish of this batch waits: once the process is continued they all go out, from
        // a leader that no longer is one.
        paused++;
        await wait;
      }
      const ack = await bus.publish(message);
      published++;
      if (wait) stale++;
      return ack;
    },
  };

  const store = createEventStore({ schema: cfg.schema });
  const relay = await startRelay({
    db,
    store,
    schema: cfg.schema,
    service: 'referrals',
    bus: relayBus,
    batchSize: cfg.batchSize ?? 50,
    pollMs: 100,
    lease: { ttlMs: cfg.leaseTtlMs },
    standbyRetryMs: cfg.standbyRetryMs,
  });

  let leader = false;
  const watch = setInterval(() => {
    if (relay.isLeader() !== leader) {
      leader = relay.isLeader();
      send({ type: 'leader', leader });
    }
  }, 20);

  process.on('message', async (message) => {
    try {
      if (message.cmd === 'arm') armed = true;
      else if (message.cmd === 'report') send({ type: 'report', published, paused, stale, leader: relay.isLeader() });
      else if (message.cmd === 'stop') {
        clearInterval(watch);
        await relay.stop();
        await bus.close();
        await db.destroy();
        process.exit(0);
      }
    } catch (err) {
      send({ type: 'error', message: String(err?.stack ?? err) });
      process.exit(1);
    }
  });
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'error', message: String(err?.stack ?? err) });
  process.exit(1);
}
