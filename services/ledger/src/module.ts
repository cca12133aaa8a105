import type { ServiceModule } from '@trm/runtime';
import { LEDGER_SCHEMA } from './constants.js';
import { startLedgerConsumer } from './consumers/on-any-event.consumer.js';
import type { LedgerContext } from './context.js';
import { ledgerRoutes } from './http/ledger.routes.js';
import { registerLedgerProblems } from './problems.js';
import { ledgerSettings } from './settings.js';
import { keyFileFor, loadKeyring, loadOrCreateKeyring } from './signing/signing-keys.js';
import { startTreeHeadSigner } from './signing/tree-head.signer.js';
import { TreeCache, backfillTreeNodes } from './tree/tree-cache.js';

export const ledgerModule: ServiceModule = {
  name: 'ledger',
  schema: LEDGER_SCHEMA,
  defaultPort: 8085,
  async mount(host) {
    const settings = ledgerSettings(host.env);
    const keyFile = keyFileFor(settings, host.mode);
    const keys = host.mode === 'embedded' && !settings.LEDGER_SIGNING_KEY_FILE ? await loadOrCreateKeyring(keyFile) : await loadKeyring(keyFile);
    const tree = new TreeCache(host.db, LEDGER_SCHEMA);
    // Once, for a ledger older than tree_nodes; a no-op afterwards (start-up reads nothing else).
    const backfilled = await backfillTreeNodes(host.db, LEDGER_SCHEMA);
    if (backfilled > 0) host.app.log.info({ leaves: backfilled }, 'ledger: stored the subtree hashes of the existing leaves');
    const consumer = await startLedgerConsumer({
      db: host.db,
      schema: LEDGER_SCHEMA,
      bus: host.bus,
      batchSize: settings.LEDGER_BATCH_SIZE,
      source: host.source,
      logger: host.app.log,
      metrics: host.metrics,
    });
    const signer = startTreeHeadSigner({
      db: host.db,
      schema: LEDGER_SCHEMA,
      tree,
      keys,
      origin: settings.LEDGER_LOG_ORIGIN,
      policy: { intervalMs: settings.LEDGER_SIGN_INTERVAL_SECONDS * 1000, everyEntries: settings.LEDGER_SIGN_EVERY_ENTRIES },
      clock: host.clock,
      onError: (err) => host.app.log.error({ err }, 'ledger: signing a tree head failed, will retry'),
    });
    const ctx: LedgerContext = { db: host.db, schema: LEDGER_SCHEMA, tree, keys, signer, origin: settings.LEDGER_LOG_ORIGIN };
    registerLedgerProblems();
    await host.app.register(ledgerRoutes, ctx);
    return { consumers: [consumer], stop: () => signer.stop() };
  },
};
