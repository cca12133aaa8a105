/** Distributed mode: `node services/proceedings/dist/main.js` (see @trm/runtime for the environment). */
import { runDistributed } from '@trm/runtime';
import { proceedingsModule } from './module.js';

await runDistributed(proceedingsModule);
