import { it } from 'vitest';
import { runOutage } from '../test/outage-scenario.js';

// Issue 16, found 1: a black-holed database (nothing answers, nothing is refused) left the
// consumer's queries and new connections waiting for ever: no error, so no retry, no
// "not ready", while ack wait ran out and spent deliveries. The pool's connection and statement
// timeouts (with the client-side query timeout) turn the silence into errors the consumer retries.
it('a 40 s black-holed PostgreSQL while 500 events are pending: the consumer notices, reports itself failing, and loses nothing', async () => {
  await runOutage({
    label: 'blackhole',
    fault: (proxy) => proxy.blackhole(),
    outageMs: 40_000,
    pool: { statementTimeoutMs: 2_000, connectionTimeoutMs: 2_000 },
    streams: 100,
    eventsPerStream: 5,
    batchSize: 25,
    concurrency: 2,
  });
}, 150_000);
