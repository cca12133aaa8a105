export * from './infra.js';
export * from './database.js';
