/** Distributed mode: `node services/statistics/dist/main.js` (see @trm/runtime for the environment). */
import { runDistributed } from '@trm/runtime';
import { statisticsModule } from './module.js';

await runDistributed(statisticsModule);
