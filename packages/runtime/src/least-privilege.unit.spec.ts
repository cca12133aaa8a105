import { describe, expect, it } from 'vitest';
import { loadHostConfig } from './config.js';
import { missingSettings } from './distributed.js';

const base = { DATABASE_URL: 'postgres://x@127.0.0.1/x', NATS_URL: 'nats://127.0.0.1:4222', JWKS_FILE: '/keys.json' };

describe('secrets per service', () => {
  it('asks for the master keys only from a service that keeps a vault', () => {
    expect(missingSettings({ keepsVault: true }, loadHostConfig(base))).toEqual(['TRM_MASTER_KEYS']);
    expect(missingSettings({ keepsVault: false }, loadHostConfig(base))).toEqual([]);
    expect(missingSettings({}, loadHostConfig(base))).toEqual([]);
  });

  it('declares a vault for referrals and proceedings only', async () => {
    const modules = await import('../../../apps/trm/src/modules.js');
    const vaults = modules.MODULES.filter((m) => m.keepsVault).map((m) => m.name).sort();
    expect(vaults).toEqual(['proceedings', 'referrals']);
  });
});
