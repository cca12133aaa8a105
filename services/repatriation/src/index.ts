export * from './domain/case-facts.js';
export * from './domain/return.decider.js';
export type { RepatriationContext } from './context.js';
export { REPATRIATION_SCHEMA } from './constants.js';
export { applyReferralsEvent, CASE_FACTS_CONSUMER } from './consumers/on-referrals-event.consumer.js';
export { repatriationService } from './service.js';
export { RepatriationEnv, repatriationModule } from './module.js';
