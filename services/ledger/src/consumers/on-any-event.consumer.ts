import { type Bus, type Logger, startConsumer } from '@trm/bus';
import type { Db } from '@trm/db';
import type { Registry } from 'prom-client';
import { LEDGER_CONSUMER } from '../constants.js';
import { appendEntry } from '../repositories/ledger.repository.js';

/**
 * Every event of every service, off their write path: each batch of deliveries gets its ledger
 * indexes and leaf hashes in one transaction with the inbox rows (a redelivered event is
 * dropped by the inbox, so it never takes a second index).
 */
export function startLedgerConsumer(opts: {
  db: Db;
  schema: string;
  bus: Bus;
  batchSize: number;
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
    logger: opts.logger,
    metrics: opts.metrics,
    handle: async (tx, envelope) => {
      await appendEntry(tx, opts.schema, envelope);
    },
  });
}
