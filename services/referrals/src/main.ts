/** Distributed mode: `node services/referrals/dist/main.js` (see @trm/runtime for the environment). */
import { runDistributed } from '@trm/runtime';
import { referralsModule } from './module.js';

await runDistributed(referralsModule);
