import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Db, MIGRATIONS_ROOT, createPgDb, migrate } from '@trm/db';
import { type TestDatabase, createTestDatabase } from '@trm/testing';
import type { EventMetadata } from '../src/index.js';

/** The event store's own migrations: the table, the relay's wake-up without NOTIFY, the append functions. */
export const MIGRATION_FILES = [
  '2026-11-22T0001_event-store.sql',
  '2026-11-22T0005_events-no-notify.sql',
  '2026-11-22T0006_events-append-function.sql',
  '2026-11-22T0006_events-head-locked.sql',
] as const;

/**
 * Migrates `schema` from a migrations root holding only the event store's migrations: other
 * packages' common migrations are being written at the same time and must not break these tests.
 * Runs on pg and PGlite alike (@trm/db sends migration scripts through PGlite's simple-query exec).
 */
export async function migrateEventStore(db: Db, schema: string): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'trm-es-migrations-'));
  try {
    await mkdir(path.join(root, 'common'));
    for (const file of MIGRATION_FILES) await copyFile(path.join(MIGRATIONS_ROOT, 'common', file), path.join(root, 'common', file));
    await migrate(db, { schema, root });
  } finally {
    await rm(root, { recursive: true, force: true });
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
