import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Db } from './connect.js';
import { SCRIPT_MARKER } from './pglite-dialect.js';

/** The repository's migrations/ folder (…/packages/db/{src,dist} → …/migrations). */
export const MIGRATIONS_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');

/**
 * Reads SQL migrations from `migrations/common` (tables every service has: events, inbox,
 * idempotency keys…) and `migrations/<service>`. Files are named `<ISO date>_<what>.sql` and
 * applied in name order. Each runs with `search_path` set to the service's schema, so the SQL is
 * written unqualified and frozen in time; nothing from application code is imported.
 */
class SqlDirectoryProvider implements MigrationProvider {
  constructor(
    private readonly schema: string,
    private readonly dirs: string[],
  ) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {};
    for (const dir of this.dirs) {
      let files: string[];
      try {
        files = (await readdir(dir)).filter((f) => f.endsWith('.sql'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      for (const file of files) {
        const name = file.replace(/\.sql$/, '');
        if (migrations[name]) throw new Error(`Two migrations are named ${name}`);
        const text = await readFile(path.join(dir, file), 'utf8');
        const schema = this.schema;
        migrations[name] = {
          async up(db) {
            await sql`select set_config('search_path', ${`"${schema}", public`}, true)`.execute(db);
            await sql.raw(`${SCRIPT_MARKER}\n${text}`).execute(db);
          },
        };
      }
    }
    return migrations;
  }
}

export interface MigrateOptions {
  /** The service's schema, created if missing. */
  schema: string;
  /** Service folder under migrations/ (defaults to the schema name); `common` is always applied. */
  service?: string;
  root?: string;
  /** Apply migrations/common too (events, inbox, idempotency, vault). Off for reference-data schemas. */
  common?: boolean;
}

export async function migrate(db: Db, opts: MigrateOptions): Promise<string[]> {
  const root = opts.root ?? MIGRATIONS_ROOT;
  // Replicas starting together must not race on `create schema` (pg_namespace is unique) or on
  // the migration tables: one process migrates at a time, on one connection holding a session lock.
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(hashtextextended('trm.migrate', 0))`.execute(conn);
    try {
      // Only when missing: a service running as its own role may own its schema without having
      // CREATE on the database (deploy/postgres/roles.sql creates the schemas for it).
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_namespace where nspname = ${opts.schema}`.execute(conn);
      if (rows[0]!.n === 0) await sql`create schema ${sql.id(opts.schema)}`.execute(conn);
      const migrator = new Migrator({
        db: conn,
        provider: new SqlDirectoryProvider(opts.schema, [
          ...(opts.common === false ? [] : [path.join(root, 'common')]),
          path.join(root, opts.service ?? opts.schema),
        ]),
        migrationTableSchema: opts.schema,
        // common/ and service files interleave by date; a late-added common file must still apply.
        allowUnorderedMigrations: true,
      });
      const { error, results } = await migrator.migrateToLatest();
      if (error) {
        const failed = results?.find((r) => r.status === 'Error');
        throw new Error(`Migration ${failed?.migrationName ?? '?'} of schema ${opts.schema} failed: ${(error as Error).message}`, { cause: error });
      }
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    } finally {
      await sql`select pg_advisory_unlock(hashtextextended('trm.migrate', 0))`.execute(conn);
    }
  });
}
