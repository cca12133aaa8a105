import { type Bus, type EventSource, type Logger, startConsumer } from '@trm/bus';
import type { Db } from '@trm/db';
import type { Registry } from 'prom-client';
import { LEDGER_CONSUMER } from '../constants.js';
import { appendEntries } from '../repositories/ledger.repository.js';

/**
 * Every event of every service, off their write path: each batch of deliveries gets its ledger
 * indexes and leaf hashes in one transaction with the inbox rows, with one counter update and one
 * INSERT (a redelivered event is dropped by the inbox, so it never takes a second index). Batches
 * form under load only: a lone event is recorded at once.
 */
export function startLedgerConsumer(opts: {
  db: Db;
  schema: string;
  bus: Bus;
  batchSize: number;
  source?: EventSource;
  logger: Logger;
  metrics: Registry;
}) {
  return startConsumer({
    db: opts.db,
    schema: opts.schema,
    name: LEDGER_CONSUMER,
    bus: opts.bus,
    filterSubject: `${opts.bus.subjectsPrefix}.>`,
    maxDeliver: 10,
    batchSize: opts.batchSize,
    ...(opts.source ? { source: opts.source } : {}),
    logger: opts.logger,
    metrics: opts.metrics,
    // One batch at a time, in delivery order: batches would only queue on the counter row anyway.
    concurrency: 1,
    handleBatch: async (tx, envelopes) => {
      await appendEntries(tx, opts.schema, envelopes);
    },
  });
}
