import { it } from 'vitest';
import { runOutage } from '../test/outage-scenario.js';

// Issue 16, found 1: before the fix a consumer gave up on a message after maxDeliver + 5 failed
// deliveries (JetStream's max_deliver), and its dead letter could not be written while the
// database was away either: with the default retry delays an outage longer than about 121 s lost
// up to 1,000 messages per consumer in silence. 150 s here, with the defaults.
it('a 150 s PostgreSQL outage (connections cut, new ones refused) while 500 events are pending loses nothing', async () => {
  await runOutage({
    label: 'down',
    fault: async (proxy) => {
      await proxy.refuse();
      proxy.cut();
    },
    outageMs: 150_000,
    pool: {},
    streams: 100,
    eventsPerStream: 5,
    concurrency: 4,
  });
}, 240_000);
