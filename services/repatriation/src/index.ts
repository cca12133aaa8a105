export * from './domain/case-facts.js';
export * from './domain/return.decider.js';
