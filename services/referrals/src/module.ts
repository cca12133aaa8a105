import { type ServiceModule, serviceSettings } from '@trm/runtime';
import { registryRoutes } from '@trm/platform';
import { createVault } from '@trm/vault';
import { z } from 'zod';
import { REFERRALS_SCHEMA } from './constants.js';
import { createReferralsContext, referralsService } from './service.js';

/** Policy settings of the referrals service (DOMAIN.md marks them *policy*). */
const ReferralsEnv = z.object({
  /** Days the national contact point has to acknowledge a notification. */
  TRM_ACK_DAYS: z.coerce.number().positive().default(2),
  /** Central contact point that receives notifications when no contact point of the victim's
   * citizenship or of the country of identification is registered. */
  TRM_HOME_NCP: z.string().min(1).default('anitp'),
});

export const referralsModule: ServiceModule = {
  name: 'referrals',
  schema: REFERRALS_SCHEMA,
  defaultPort: 8081,
  async mount(host) {
    const settings = serviceSettings('referrals', ReferralsEnv, host.env);
    const ctx = createReferralsContext({
      db: host.db,
      store: host.store,
      orgs: host.orgs,
      vault: createVault({ schema: REFERRALS_SCHEMA, masterKeys: host.masterKeys }),
      policy: { acknowledgementDays: settings.TRM_ACK_DAYS, homeNationalContactPoint: settings.TRM_HOME_NCP },
      clock: host.clock,
      onCommitted: host.committed,
    });
    // The national contact point's service keeps the organisation registry's admin routes.
    await host.app.register(registryRoutes, { db: host.db, schema: 'registry', directory: host.orgs });
    await host.app.register(referralsService, ctx);
    return {};
  },
};
