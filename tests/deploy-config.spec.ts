import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { NATS_CONFIG_FILE, deployedNatsConfig } from '../apps/trm/src/nats-config.js';

describe('deployment configuration', () => {
  it('deploy/nats/nats-server.conf is the one the code generates (node apps/trm/dist/nats-config.js --write)', async () => {
    expect(await readFile(NATS_CONFIG_FILE, 'utf8')).toBe(deployedNatsConfig());
  });

  it('docker-compose gives the master keys only to the services that keep a vault, and each service its own NATS user', async () => {
    const compose = await readFile(new URL('../docker-compose.yml', import.meta.url), 'utf8');
    const services = ['referrals', 'repatriation', 'proceedings', 'statistics', 'ledger'];
    for (const s of services) {
      const block = compose.split(/\n  (?=[a-z-]+:\n)/).find((b) => b.startsWith(`${s}:`));
      expect(block, `${s} is in docker-compose.yml`).toBeDefined();
      expect(block).toContain(`NATS_USER: ${s}`);
      expect(block!.includes('TRM_MASTER_KEYS')).toBe(s === 'referrals' || s === 'proceedings');
    }
  });
});
