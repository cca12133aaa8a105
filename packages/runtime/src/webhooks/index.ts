export * from './outbox.js';
export * from './routes.js';
export * from './settings.js';
export * from './signing.js';
export * from './ssrf.js';
