export * from './merkle.js';
export * from './entry.js';
export * from './head.js';
export * from './proofs.js';
export * from './verify-export.js';
export * from './checkpoint.js';
export { runCli, type CliIo } from './run-cli.js';
