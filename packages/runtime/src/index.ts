export * from './config.js';
export * from './distributed.js';
export * from './embedded.js';
export * from './host.js';
export * from './service-module.js';
export * from './webhooks/index.js';
