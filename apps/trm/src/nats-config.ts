/**
 * The nats-server configuration of a distributed deployment (deploy/nats/nats-server.conf): one
 * user per service, each allowed to publish only its own events. `--write` stores it, `--check`
 * exits 1 when the committed file differs from the code; without either it prints it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { natsServerConfig } from '@trm/bus';

export const NATS_CONFIG_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/nats/nats-server.conf');

export const deployedNatsConfig = (): string => natsServerConfig({ storeDir: '/data' });

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const text = deployedNatsConfig();
  if (process.argv.includes('--write')) {
    await writeFile(NATS_CONFIG_FILE, text);
  } else if (process.argv.includes('--check')) {
    const committed = await readFile(NATS_CONFIG_FILE, 'utf8').catch(() => '');
    if (committed !== text) {
      process.stderr.write(`${NATS_CONFIG_FILE} differs from the code: run node apps/trm/dist/nats-config.js --write\n`);
      process.exit(1);
    }
  } else {
    process.stdout.write(text);
  }
}
