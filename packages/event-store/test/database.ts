import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Db, MIGRATIONS_ROOT, createPgDb, migrate } from '@trm/db';
import { type TestDatabase, createTestDatabase } from '@trm/testing';
import type { EventMetadata } from '../src/index.js';

export const MIGRATION_FILE = '2026-11-22T0001_event-store.sql';

/**
 * A migrations root holding only the event store's migration: other packages' common migrations
 * are being written at the same time and must not make these tests fail. `wrapForPglite` puts the
 * file into one DO block, because PGlite's extended-protocol query() refuses several statements.
 */
async function eventStoreOnlyRoot(wrapForPglite = false): Promise<{ root: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(path.join(tmpdir(), 'trm-es-migrations-'));
  await mkdir(path.join(root, 'common'));
  const src = path.join(MIGRATIONS_ROOT, 'common', MIGRATION_FILE);
  const dest = path.join(root, 'common', MIGRATION_FILE);
  if (wrapForPglite) {
    const text = await readFile(src, 'utf8');
    if (text.includes('$trm_migration$')) throw new Error('migration text clashes with the wrapper quote');
    await writeFile(dest, `do $trm_wrap$ begin execute $trm_migration$${text}$trm_migration$; end $trm_wrap$;`);
  } else {
    await copyFile(src, dest);
  }
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export async function migrateEventStore(db: Db, schema: string, opts: { pglite?: boolean } = {}): Promise<void> {
  const { root, cleanup } = await eventStoreOnlyRoot(opts.pglite);
  try {
    await migrate(db, { schema, root });
  } finally {
    await cleanup();
  }
}

export interface PgFixture {
  db: Db;
  url: string;
  close(): Promise<void>;
}

/** A fresh database, migrated in `schema`; `close()` drops it. */
export async function pgFixture(schema: string, max = 10): Promise<PgFixture> {
  const database: TestDatabase = await createTestDatabase('trm_es');
  const { db } = createPgDb(database.url, { max, applicationName: 'event-store-test' });
  await migrateEventStore(db, schema);
  return {
    db,
    url: database.url,
    async close() {
      await db.destroy();
      await database.drop();
    },
  };
}

export const metadata: EventMetadata = {
  actor: 'user-1',
  organisation: 'org-1',
  correlationId: 'corr-1',
  causationId: null,
  requestId: 'req-1',
};

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
