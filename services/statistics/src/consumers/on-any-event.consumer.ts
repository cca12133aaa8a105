import { type Bus, type Logger, type Subscription, startConsumer } from '@trm/bus';
import type { Db } from '@trm/db';
import type { Registry } from 'prom-client';
import { FACTS_CONSUMER } from '../constants.js';
import { applyEvent } from '../repositories/facts.repository.js';

/**
 * Every event of every service, in each service's order (concurrency 1), folded into the fact
 * tables in the transaction that records it in the inbox. Types statistics does not use only
 * advance the watermark.
 */
export function startFactsConsumer(opts: { db: Db; schema: string; bus: Bus; logger?: Logger; metrics?: Registry }): Promise<Subscription> {
  return startConsumer({
    db: opts.db,
    schema: opts.schema,
    name: FACTS_CONSUMER,
    bus: opts.bus,
    filterSubject: `${opts.bus.subjectsPrefix}.>`,
    // One at a time: a later event of a case (acknowledgement) must not overtake its first one.
    concurrency: 1,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    handle: (tx, e) =>
      applyEvent(tx, opts.schema, {
        service: e.service,
        type: e.type,
        eventId: e.eventId,
        recordedAt: e.recordedAt,
        globalPosition: e.globalPosition,
        data: e.data,
      }),
  });
}
