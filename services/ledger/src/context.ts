import type { Db } from '@trm/db';
import type { LedgerKeyring } from './signing/signing-keys.js';
import type { TreeHeadSigner } from './signing/tree-head.signer.js';
import type { TreeCache } from './tree/tree-cache.js';

/** Everything the ledger routes need, built once per process by the module. */
export interface LedgerContext {
  db: Db;
  schema: string;
  tree: TreeCache;
  keys: LedgerKeyring;
  signer: TreeHeadSigner;
  /** C2SP checkpoint origin and note key name. */
  origin: string;
}
