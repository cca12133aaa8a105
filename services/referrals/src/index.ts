export * from './domain/case.decider.js';
export type { ReferralsContext } from './context.js';
export { REFERRALS_SCHEMA, REFERRALS_SERVICE } from './constants.js';
export { type ReferralsOptions, createReferralsContext, referralsService } from './service.js';
export { referralsModule } from './module.js';
