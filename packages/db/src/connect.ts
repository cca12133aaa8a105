import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';

export type Db = Kysely<any>;

export interface PgOptions {
  /** Pool size; several writers need several connections. */
  max?: number;
  /** A stuck transaction must not hold the global readers' visibility horizon back for ever. */
  idleInTransactionTimeoutMs?: number;
  applicationName?: string;
  /**
   * Longest a statement may run before the server cancels it, and (plus 5 s) before the client
   * stops waiting for a server that went silent; 0 (default) for none: long-running tools. Services
   * set it (a blocked query must not hold a handler, or a consumer's delivery, for ever).
   */
  statementTimeoutMs?: number;
  /** Longest a new connection may take (a black-holed server fails fast instead of hanging). */
  connectionTimeoutMs?: number;
}

/** Kysely over a `pg` pool. bigint columns stay strings (pg's default): parse them on purpose. */
export function createPgDb(url: string, opts: PgOptions = {}): { db: Db; pool: pg.Pool } {
  const statementTimeoutMs = opts.statementTimeoutMs ?? 0;
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'trm',
    options: `-c idle_in_transaction_session_timeout=${opts.idleInTransactionTimeoutMs ?? 60_000} -c statement_timeout=${statementTimeoutMs}`,
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5_000,
    // A server that vanishes without closing the connection (black hole, cable cut) is noticed by
    // TCP keepalive on idle connections and by the client-side query timeout on busy ones.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(statementTimeoutMs > 0 ? { query_timeout: statementTimeoutMs + 5_000 } : {}),
  });
  // A pool error (server restart, dropped connection) must not crash the process: the next
  // checkout reconnects and the failing request gets a 503.
  pool.on('error', () => {});
  return { db: new Kysely<any>({ dialect: new PostgresDialect({ pool }) }), pool };
}

/**
 * Kysely over PGlite (PostgreSQL compiled to WASM) for the embedded mode. Connections are
 * serialised by the dialect, so transactions run one at a time. int8 is returned as a string,
 * as `pg` does, so the same code runs on both.
 */
export async function createPgliteDb(dataDir: string | undefined): Promise<{ db: Db; close(): Promise<void> }> {
  const { PGlite, types } = await import('@electric-sql/pglite');
  const { PgliteDialect } = await import('./pglite-dialect.js');
  const client = await PGlite.create(dataDir ?? 'memory://', {
    parsers: { [types.INT8]: (v: string) => v },
  });
  const db = new Kysely<any>({ dialect: new PgliteDialect(client) });
  return { db, close: () => db.destroy() };
}
