import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InProcessBus } from '@trm/bus';
import { createPgliteDb } from '@trm/db';
import { devJwks, loadOrCreateDevKey } from '@trm/platform';
import { generateMasterKey } from '@trm/vault';
import { assertProductionSafe, type HostConfig, loadHostConfig } from './config.js';
import { type Host, buildHost } from './host.js';
import type { ServiceModule } from './service-module.js';

/**
 * The vault's master key in embedded mode: generated on first start into the data folder (0600).
 * Distributed deployments pass TRM_MASTER_KEYS.
 */
async function embeddedMasterKeys(config: HostConfig): Promise<string> {
  if (config.TRM_MASTER_KEYS) return config.TRM_MASTER_KEYS;
  const file = path.join(config.dataDir, 'master-keys');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const ring = `embedded-1:${generateMasterKey()}`;
    await writeFile(file, `${ring}\n`, { mode: 0o600, flag: 'wx' });
    return ring;
  }
}

/**
 * Every service in one process on PGlite (real PostgreSQL in WASM) with the in-process bus and a
 * development signing key: what `make run` starts. `inMemory` keeps the database in memory.
 */
export async function createEmbeddedHost(
  modules: readonly ServiceModule[],
  env: NodeJS.ProcessEnv = process.env,
  opts: { inMemory?: boolean } = {},
): Promise<Host & { config: HostConfig }> {
  const config = loadHostConfig(env);
  const devSigningKey = !config.JWKS_URL && !config.JWKS_FILE;
  // Before anything is created: a production host must not leave a development key behind.
  assertProductionSafe(config, env, { devSigningKey, demoOrganisations: true });
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const { db } = await createPgliteDb(opts.inMemory ? undefined : path.join(config.dataDir, 'pglite'));
  const devKey = devSigningKey ? await loadOrCreateDevKey(config.dataDir) : undefined;
  const host = await buildHost({
    mode: 'embedded',
    modules,
    config,
    db,
    bus: new InProcessBus(),
    auth: {
      jwks: config.JWKS_URL ? { url: config.JWKS_URL, cacheMaxAgeMs: config.JWKS_CACHE_MAX_AGE_MS, cooldownMs: config.JWKS_COOLDOWN_MS } : config.JWKS_FILE ? { file: config.JWKS_FILE } : { keys: devJwks(devKey!).keys },
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    },
    masterKeys: await embeddedMasterKeys(config),
    env,
    seedDemoOrganisations: true,
    devSigningKey,
  });
  return { ...host, config };
}
