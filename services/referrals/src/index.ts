export * from './domain/case.decider.js';
export type { ReferralsContext } from './context.js';
export { REFERRALS_SCHEMA, REFERRALS_SERVICE } from './constants.js';
export { type ReferralsOptions, createReferralsContext, referralsService } from './service.js';
export { referralsModule, ReferralsEnv } from './module.js';
export { createDeadlineScheduler, type DeadlineScheduler } from './scheduler/deadline.scheduler.js';
export { HANDED_OVER_CONSUMER } from './consumers/on-handed-over-to-assistance.consumer.js';
export { projectCaseEvents } from './projections/case.projection.js';
