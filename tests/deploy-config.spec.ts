import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { NATS_CONFIG_FILE, POSTGRES_ROLES_FILE, deployedNatsConfig, deployedPostgresRoles } from '../apps/trm/src/deploy-config.js';

describe('deployment configuration', () => {
  it('deploy/nats/nats-server.conf and deploy/postgres/roles.sql are the ones the code generates (node apps/trm/dist/deploy-config.js --write)', async () => {
    expect(await readFile(NATS_CONFIG_FILE, 'utf8')).toBe(deployedNatsConfig());
    expect(await readFile(POSTGRES_ROLES_FILE, 'utf8')).toBe(deployedPostgresRoles());
  });

  it('docker-compose gives the master keys only to the services that keep a vault, each service its own NATS user and its own PostgreSQL role', async () => {
    const compose = await readFile(new URL('../docker-compose.yml', import.meta.url), 'utf8');
    const services = ['referrals', 'repatriation', 'proceedings', 'statistics', 'ledger'];
    for (const s of services) {
      const block = compose.split(/\n  (?=[a-z-]+:\n)/).find((b) => b.startsWith(`${s}:`));
      expect(block, `${s} is in docker-compose.yml`).toBeDefined();
      expect(block).toContain(`NATS_USER: ${s}`);
      expect(block).toContain(`DATABASE_URL: postgres://trm_${s}:`);
      expect(block!.includes('TRM_MASTER_KEYS')).toBe(s === 'referrals' || s === 'proceedings');
      // The services that notify partners sign with the deployment's webhook key (production refuses to start without it).
      expect(block!.includes('TRM_WEBHOOK_SIGNING_KEY:')).toBe(s === 'referrals' || s === 'repatriation');
    }
  });
});
