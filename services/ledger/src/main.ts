/** Distributed mode: `node services/ledger/dist/main.js` (see @trm/runtime; also LEDGER_SIGNING_KEY_FILE). */
import { runDistributed } from '@trm/runtime';
import { ledgerModule } from './module.js';

await runDistributed(ledgerModule);
