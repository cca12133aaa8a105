/**
 * `npm run migrate`: applies every schema's migrations to DATABASE_URL, or to the embedded
 * PGlite database in the data folder when DATABASE_URL is not set.
 */
import path from 'node:path';
import { createPgDb, createPgliteDb } from '@trm/db';
import { loadHostConfig, migrateAll } from '@trm/runtime';
import { MODULES } from './modules.js';

const config = loadHostConfig();
const { db } = config.DATABASE_URL
  ? createPgDb(config.DATABASE_URL, { max: 2, applicationName: 'trm-migrate' })
  : await createPgliteDb(path.join(config.dataDir, 'pglite'));
try {
  const applied = await migrateAll(db, MODULES);
  for (const [schema, names] of Object.entries(applied)) {
    process.stdout.write(`${schema}: ${names.length === 0 ? 'up to date' : `applied ${names.join(', ')}`}\n`);
  }
} finally {
  await db.destroy();
}
