export { ledgerModule } from './module.js';
export { LEDGER_SCHEMA, LEDGER_SERVICE } from './constants.js';
export { AGGREGATES, replay, type AggregateKind, type ReplayResult } from './domain/aggregate-registry.js';
export { loadKeyring, rotateKeyFile, type LedgerKeyring } from './signing/signing-keys.js';
export { reconcile, type ReconcileReport } from './reconcile/reconcile.js';
export { appendEntries } from './repositories/ledger.repository.js';
export { TreeCache, extendTreeNodes, backfillTreeNodes } from './tree/tree-cache.js';
