/**
 * Prints the OpenAPI document of every service (`--write` stores it in openapi/openapi.json,
 * `--check` exits 1 when the committed file differs from the code).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEmbeddedHost } from '@trm/runtime';
import { MODULES } from './modules.js';

export const OPENAPI_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../openapi/openapi.json');

/** Built from a throw-away in-memory host: the document depends on the code only. */
export async function generateOpenApi(): Promise<string> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'trm-openapi-'));
  // A development host (its key and demo organisations are thrown away): the document is the same whatever NODE_ENV says.
  const env = { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'silent', TRM_DATA_DIR: dataDir, JWKS_URL: undefined, JWKS_FILE: undefined };
  const host = await createEmbeddedHost(MODULES, env, { inMemory: true });
  try {
    await host.app.ready();
    return `${JSON.stringify(host.app.swagger(), null, 2)}\n`;
  } finally {
    await host.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const doc = await generateOpenApi();
  if (process.argv.includes('--write')) {
    await writeFile(OPENAPI_FILE, doc);
    process.stdout.write(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)}\n`);
  } else if (process.argv.includes('--check')) {
    const committed = await readFile(OPENAPI_FILE, 'utf8').catch(() => '');
    if (committed !== doc) {
      process.stderr.write('openapi/openapi.json is out of date: run `make openapi` and commit it\n');
      process.exit(1);
    }
    process.stdout.write('openapi/openapi.json is up to date\n');
  } else {
    process.stdout.write(doc);
  }
}
