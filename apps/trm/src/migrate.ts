/**
 * `npm run migrate`: applies every schema's migrations to DATABASE_URL, or to the embedded
 * PGlite database in the data folder when DATABASE_URL is not set.
 */
import path from 'node:path';
import { createPgDb, createPgliteDb, migrate } from '@trm/db';
import { loadConfig } from './config.js';
import { SCHEMAS } from './host.js';

const config = loadConfig();
const { db } = config.DATABASE_URL
  ? createPgDb(config.DATABASE_URL, { max: 2, applicationName: 'trm-migrate' })
  : await createPgliteDb(path.join(config.dataDir, 'pglite'));
try {
  for (const schema of SCHEMAS) {
    const applied = await migrate(db, { schema, common: schema !== 'registry' });
    process.stdout.write(`${schema}: ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}\n`);
  }
} finally {
  await db.destroy();
}
