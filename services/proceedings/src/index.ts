export * from './domain/proceedings.decider.js';
export type { ProceedingsContext } from './context.js';
export { PROCEEDINGS_SCHEMA } from './context.js';
export { PROCEEDINGS_CONSUMER, proceedingsModule } from './module.js';
