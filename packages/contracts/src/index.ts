export * from './envelope.js';
export * from "./domain-error.js";
export * from "./referrals.events.js";
export * from './values.js';
export * from './repatriation.contract.js';
export * from './proceedings.events.js';
export * from './repatriation.events.js';
export * from './access-matrix.js';
