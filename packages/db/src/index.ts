export * from './connect.js';
export * from './migrate.js';
export { SCRIPT_MARKER } from './pglite-dialect.js';
export * from './roles.js';
