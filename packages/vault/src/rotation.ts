import { type Kysely, sql } from 'kysely';
import { type MasterKeyRing, parseMasterKeys } from './master-keys.js';
import { createVault } from './vault.js';

export interface RotationReport {
  /** Current master key id every live data key should now be under. */
  masterKeyId: string;
  /** Data keys re-wrapped, per schema holding a vault. */
  rewrapped: Record<string, number>;
  /** Live data keys still under another master key (locked by a concurrent writer): run again. */
  remaining: Record<string, number>;
}

/** Every schema with a vault (each service that keeps personal data has one), found in the database. */
export async function vaultSchemas(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ schema: string }>`
    select table_schema as schema from information_schema.tables
    where table_name = 'vault_keys' and table_type = 'BASE TABLE' order by 1`.execute(db);
  return rows.map((r) => r.schema);
}

/**
 * Master key rotation for every vault: each live data key not under the ring's first key is
 * unwrapped with the key it is under and wrapped again with the first. Field ciphertexts are
 * untouched, so this is quick and safe to repeat; the old key can leave the configuration once
 * `remaining` is zero everywhere.
 */
export async function rotateMasterKey(db: Kysely<any>, masterKeys: MasterKeyRing | string, opts: { batchSize?: number } = {}): Promise<RotationReport> {
  const ring = typeof masterKeys === 'string' ? parseMasterKeys(masterKeys) : masterKeys;
  const report: RotationReport = { masterKeyId: ring.current.id, rewrapped: {}, remaining: {} };
  for (const schema of await vaultSchemas(db)) {
    const { rewrapped } = await createVault({ schema, masterKeys: ring }).rewrap(db, opts);
    report.rewrapped[schema] = rewrapped;
    const { rows } = await sql<{ n: string }>`
      select count(*)::text as n from ${sql.id(schema, 'vault_keys')}
      where erased_at is null and master_key_id <> ${ring.current.id}`.execute(db);
    report.remaining[schema] = Number(rows[0]?.n ?? 0);
  }
  return report;
}
