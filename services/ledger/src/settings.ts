import { serviceSettings } from '@trm/runtime';
import { z } from 'zod';

/** Policy and deployment settings of the ledger (DOMAIN.md / issue 6), read from the environment. */
export const LedgerEnv = z.object({
  /** *policy*: a new tree head is signed at least this often while entries arrive. */
  LEDGER_SIGN_INTERVAL_SECONDS: z.coerce.number().positive().max(86_400).default(10),
  /** *policy*: …or as soon as this many entries are not yet covered by a head. */
  LEDGER_SIGN_EVERY_ENTRIES: z.coerce.number().int().positive().default(1000),
  /** Private JWK set (first key current); required in distributed mode. */
  LEDGER_SIGNING_KEY_FILE: z.string().min(1).optional(),
  /** Events hashed per consumer transaction. */
  LEDGER_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(200),
  /**
   * The log's origin: first line of its C2SP checkpoints and the name of its note key (no spaces,
   * no '+'; by convention host/path of the log). Partners pin it with the vkey.
   */
  LEDGER_LOG_ORIGIN: z
    .string()
    .regex(/^[^\s+]+$/, 'no spaces or +')
    .max(200)
    .default('trm.local/ledger'),
  TRM_DATA_DIR: z.string().default('.data'),
});
export type LedgerSettings = z.output<typeof LedgerEnv>;

export function ledgerSettings(env: NodeJS.ProcessEnv): LedgerSettings {
  return serviceSettings('ledger', LedgerEnv, env);
}
