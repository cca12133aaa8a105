import { connectJetStreamBus } from '@trm/bus';
import { createPgDb } from '@trm/db';
import { serve } from '@trm/platform';
import { assertProductionSafe, ConfigError, type HostConfig, loadHostConfig } from './config.js';
import { type Host, buildHost } from './host.js';
import type { ServiceModule } from './service-module.js';

/**
 * Distributed mode: one service in its own process on PostgreSQL and NATS JetStream.
 * `node services/<name>/dist/main.js` with DATABASE_URL, NATS_URL, JWKS_URL | JWKS_FILE,
 * JWT_ISSUER, JWT_AUDIENCE, and TRM_MASTER_KEYS for a service that keeps a vault (referrals,
 * proceedings; the others are not given it). Replicas may run side by side. With
 * NODE_ENV=production (the image's) the development issuer and audience and a plain-http
 * JWKS_URL are refused at start (assertProductionSafe).
 */
export async function startDistributed(module: ServiceModule, env: NodeJS.ProcessEnv = process.env): Promise<Host> {
  const config = loadHostConfig(env);
  const missing = missingSettings(module, config);
  if (missing.length > 0) throw new ConfigError(`${module.name}: set ${missing.join(', ')}`);
  // Before any connection is opened (buildHost checks again, for hosts built by hand).
  assertProductionSafe(config, env);
  const { db } = createPgDb(config.DATABASE_URL!, { max: config.DATABASE_POOL_SIZE, applicationName: `trm-${module.name}`, statementTimeoutMs: 30_000 });
  const bus = await connectJetStreamBus({
    servers: config.NATS_URL!,
    streamName: config.NATS_STREAM,
    subjectsPrefix: config.NATS_SUBJECT_PREFIX,
    name: `trm-${module.name}`,
    ...(config.NATS_USER ? { user: config.NATS_USER, pass: config.NATS_PASSWORD ?? '' } : {}),
    maxAgeMs: config.TRM_NATS_MAX_AGE_DAYS * 86_400_000,
    maxBytes: config.TRM_NATS_MAX_BYTES,
  });
  return buildHost({
    mode: 'distributed',
    modules: [module],
    config,
    db,
    bus,
    auth: {
      jwks: config.JWKS_URL ? { url: config.JWKS_URL, cacheMaxAgeMs: config.JWKS_CACHE_MAX_AGE_MS, cooldownMs: config.JWKS_COOLDOWN_MS } : { file: config.JWKS_FILE! },
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    },
    masterKeys: module.keepsVault ? config.TRM_MASTER_KEYS! : '',
    env,
  });
}

/** The settings a service cannot start without; the master keys only where a vault lives. */
export function missingSettings(module: Pick<ServiceModule, 'keepsVault'>, config: HostConfig): string[] {
  return [
    !config.DATABASE_URL && 'DATABASE_URL',
    !config.NATS_URL && 'NATS_URL',
    !config.JWKS_URL && !config.JWKS_FILE && 'JWKS_URL or JWKS_FILE',
    // Least privilege: only a service that keeps a vault is given (and needs) the master keys.
    module.keepsVault && !config.TRM_MASTER_KEYS && 'TRM_MASTER_KEYS',
  ].filter((m): m is string => typeof m === 'string');
}

/** Entry point of a service's main.ts: start, listen, shut down gracefully on SIGTERM. */
export async function runDistributed(module: ServiceModule, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    const host = await startDistributed(module, env);
    const config = loadHostConfig(env);
    await serve(host.app, { port: config.PORT ?? module.defaultPort, host: config.HOST });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
