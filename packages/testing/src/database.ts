import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { baseDatabaseUrl } from './infra.js';

export interface TestDatabase {
  /** Connection string of a fresh, empty database made for this test file. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates a database with a random name; `drop()` removes it (terminating leftover sessions). */
export async function createTestDatabase(prefix = 'trm_test'): Promise<TestDatabase> {
  const base = baseDatabaseUrl();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

export function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}
