import { ledgerModule } from '@trm/ledger';
import { proceedingsModule } from '@trm/proceedings';
import { referralsModule } from '@trm/referrals';
import { repatriationModule } from '@trm/repatriation';
import type { ServiceModule } from '@trm/runtime';
import { statisticsModule } from '@trm/statistics';

/** Every service the embedded host runs, in mount order. */
export const MODULES: readonly ServiceModule[] = [referralsModule, proceedingsModule, repatriationModule, ledgerModule, statisticsModule];
