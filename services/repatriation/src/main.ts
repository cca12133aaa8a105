/** Distributed mode: `node services/repatriation/dist/main.js` (see @trm/runtime for the environment). */
import { runDistributed } from '@trm/runtime';
import { repatriationModule } from './module.js';

await runDistributed(repatriationModule);
