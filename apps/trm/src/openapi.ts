/**
 * Prints the OpenAPI document of every service (`--write` stores it in openapi/openapi.json,
 * `--check` exits 1 when the committed file differs from the code).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './config.js';
import { createEmbeddedHost } from './host.js';

export const OPENAPI_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../openapi/openapi.json');

export async function generateOpenApi(): Promise<string> {
  const host = await createEmbeddedHost(loadConfig({ ...process.env, LOG_LEVEL: 'silent' }), { inMemory: true });
  try {
    await host.app.ready();
    return `${JSON.stringify(host.app.swagger(), null, 2)}\n`;
  } finally {
    await host.close();
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
