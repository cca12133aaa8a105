/**
 * `npm run -s keys:rotate`: re-wraps every vault's data keys under the first master key of
 * TRM_MASTER_KEYS (`new:…,old:…`), in every service schema, and prints how many were re-wrapped.
 * Personal data is not re-encrypted. Once it reports nothing remaining, drop the old key from
 * TRM_MASTER_KEYS and restart the services.
 *
 * Embedded mode (no DATABASE_URL): the PGlite database and the master-keys file of the data folder;
 * `--generate` puts a fresh key in front of that file first. Stop `make run` before: PGlite has
 * one writer.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createPgDb, createPgliteDb, type Db } from '@trm/db';
import { loadHostConfig } from '@trm/runtime';
import { generateMasterKey, parseMasterKeys, type RotationReport, rotateMasterKey } from '@trm/vault';

export function formatReport(report: RotationReport): string {
  const lines = Object.entries(report.rewrapped).map(
    ([schema, n]) => `${schema}: ${n} data key(s) re-wrapped${report.remaining[schema] ? `, ${report.remaining[schema]} still under an old key` : ''}`,
  );
  const total = Object.values(report.rewrapped).reduce((a, b) => a + b, 0);
  const left = Object.values(report.remaining).reduce((a, b) => a + b, 0);
  lines.push(`re-wrapped ${total} data key(s) under master key "${report.masterKeyId}"${left > 0 ? `; ${left} remaining: run again` : '; the old keys may now be removed'}`);
  return `${lines.join('\n')}\n`;
}

/** Prepends a new key to the embedded master-keys file (atomically) and returns the whole ring. */
async function generateInto(file: string): Promise<string> {
  const old = (await readFile(file, 'utf8')).trim();
  const ids = [...parseMasterKeys(old).byId.keys()];
  let n = ids.length + 1;
  while (ids.includes(`embedded-${n}`)) n++;
  const ring = `embedded-${n}:${generateMasterKey()},${old}`;
  await writeFile(`${file}.tmp`, `${ring}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return ring;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { generate: { type: 'boolean', default: false } }, strict: true });
  const config = loadHostConfig();
  const embedded = !config.DATABASE_URL;
  let masterKeys = config.TRM_MASTER_KEYS;
  if (embedded && !masterKeys) {
    const file = path.join(config.dataDir, 'master-keys');
    masterKeys = values.generate ? await generateInto(file) : (await readFile(file, 'utf8')).trim();
  } else if (values.generate) {
    process.stderr.write('keys:rotate: --generate only writes the embedded master-keys file; put the new key first in TRM_MASTER_KEYS instead\n');
    return 2;
  }
  if (!masterKeys) {
    process.stderr.write('keys:rotate: set TRM_MASTER_KEYS to "new-id:base64,old-id:base64"\n');
    return 2;
  }
  let db: Db;
  if (embedded) db = (await createPgliteDb(path.join(config.dataDir, 'pglite'))).db;
  else db = createPgDb(config.DATABASE_URL!, { max: 2, applicationName: 'trm-keys-rotate' }).db;
  try {
    const report = await rotateMasterKey(db, masterKeys);
    process.stdout.write(formatReport(report));
    return Object.values(report.remaining).some((n) => n > 0) ? 1 : 0;
  } finally {
    await db.destroy();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      // Error messages of the vault name key ids and subjects, never key material or data.
      process.stderr.write(`keys:rotate: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
