export * from './types.js';
export * from './errors.js';
export * from './decider.js';
export * from './hash-chain.js';
export * from './event-store.js';
