import { type Bus, type EventSource, type Logger, type Subscription, startConsumer } from '@trm/bus';
import type { EventEnvelope } from '@trm/contracts';
import type { Db } from '@trm/db';
import type { Registry } from 'prom-client';
import { FACTS_CONSUMER } from '../constants.js';
import { type FoldEvent, applyEvents } from '../repositories/facts.repository.js';

const foldEvent = (e: EventEnvelope): FoldEvent => ({
  service: e.service,
  type: e.type,
  eventId: e.eventId,
  recordedAt: e.recordedAt,
  globalPosition: e.globalPosition,
  data: e.data,
});

/**
 * Every event of every service, in delivery order (one batch at a time: a later event of a case,
 * its acknowledgement, must not overtake its first one), folded into the fact tables in the
 * transaction that records the batch in the inbox: `applyEvents`, the rebuild's set-based writes,
 * equal to folding each event in turn. Under load the batch grows, so the statements per event
 * fall; a lone event is folded at once. Types statistics does not use only advance the watermark.
 */
export function startFactsConsumer(opts: {
  db: Db;
  schema: string;
  bus: Bus;
  batchSize?: number;
  source?: EventSource;
  logger?: Logger;
  metrics?: Registry;
}): Promise<Subscription> {
  return startConsumer({
    db: opts.db,
    schema: opts.schema,
    name: FACTS_CONSUMER,
    bus: opts.bus,
    filterSubject: `${opts.bus.subjectsPrefix}.>`,
    concurrency: 1,
    batchSize: opts.batchSize ?? 200,
    ...(opts.source ? { source: opts.source } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    handleBatch: (tx, envelopes) => applyEvents(tx, opts.schema, envelopes.map(foldEvent)),
  });
}
