import path from 'node:path';
import { z } from 'zod';

/** The development defaults of the token issuer and audience: refused with NODE_ENV=production. */
export const DEV_JWT_ISSUER = 'trm-dev';
export const DEV_JWT_AUDIENCE = 'trm';

const ORG_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;

/**
 * Settings every host reads from the environment, validated once; a bad value stops the
 * process at start with a message naming the variable. Services validate their own policy
 * variables (ServiceHost.env) the same way.
 */
const HostEnv = z.object({
  /** `production` turns on the production guards (assertProductionSafe); the Dockerfile sets it. */
  NODE_ENV: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRM_DATA_DIR: z.string().default('.data'),
  DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(20),
  NATS_URL: z.string().min(1).optional(),
  NATS_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/).default('TRM'),
  NATS_SUBJECT_PREFIX: z.string().regex(/^[a-z0-9_-]+$/).default('trm'),
  /** This service's NATS user and password (deploy/nats/nats-server.conf: each service publishes only its own events). */
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  JWKS_URL: z.string().url().optional(),
  JWKS_FILE: z.string().min(1).optional(),
  /** How long keys fetched from JWKS_URL are trusted before being fetched again (a removed key dies with it). */
  JWKS_CACHE_MAX_AGE_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  /** Least time between two fetches of JWKS_URL caused by an unknown key id. */
  JWKS_COOLDOWN_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  /** `true` lets JWKS_URL be plain http:// in production (e.g. an identity provider on the same host). */
  JWKS_ALLOW_HTTP: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  JWT_ISSUER: z.string().min(1).default(DEV_JWT_ISSUER),
  JWT_AUDIENCE: z.string().min(1).default(DEV_JWT_AUDIENCE),
  /**
   * Policy: the organisations that operate the registry (comma-separated ids). Only their `admin`
   * role administers the registry and only their `operator` role reads `/metrics`.
   */
  TRM_REGISTRY_OPERATORS: z
    .string()
    .default('anitp')
    .transform((v) => v.split(',').map((id) => id.trim()).filter(Boolean))
    .refine((ids) => ids.length > 0 && ids.every((id) => ORG_ID.test(id)), { message: 'comma-separated organisation ids, at least one' }),
  TRM_MASTER_KEYS: z.string().min(1).optional(),
  /** Policy: a relay leader that has not renewed its lease for this long is replaced by a standby. */
  TRM_RELAY_LEASE_MS: z.coerce.number().int().min(500).max(600_000).default(10_000),
  /** Policy: consumers' inbox rows are kept this long (duplicates are recognised by stream positions after). */
  TRM_INBOX_RETENTION_HOURS: z.coerce.number().int().min(1).default(168),
  /** Policy: JetStream keeps messages this long (PostgreSQL keeps every event; late consumers read the source). */
  TRM_NATS_MAX_AGE_DAYS: z.coerce.number().int().min(1).default(30),
  /** Policy: JetStream keeps at most this many bytes (-1: no limit besides the age). */
  TRM_NATS_MAX_BYTES: z.coerce.number().int().min(-1).default(-1),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(256 * 1024),
  /**
   * Addresses of the reverse proxies in front (comma-separated IPs or CIDRs, or `true` for any):
   * rate limits per address then see the client, not the proxy. Unset: no proxy is trusted.
   */
  TRUST_PROXY: z.string().min(1).optional(),
  /** Deadline to receive a whole request (408 after it). */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** Mean event loop delay above which requests are shed with 503 `overloaded`; 0 disables. */
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).default(1000),
  /** Heap use above which requests are shed; 0 (default) disables. */
  PRESSURE_MAX_HEAP_BYTES: z.coerce.number().int().min(0).default(0),
});

export type HostConfig = z.infer<typeof HostEnv> & { dataDir: string };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadHostConfig(env: NodeJS.ProcessEnv = process.env): HostConfig {
  const parsed = HostEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return { ...parsed.data, dataDir: path.resolve(parsed.data.TRM_DATA_DIR) };
}

/** Parses a service's own settings from the environment with its zod schema. */
export function serviceSettings<S extends z.ZodType>(service: string, schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid ${service} configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** What a host is about to rely on that only development may use. */
export interface DevelopmentFeatures {
  /** Tokens verified with the development signing key in the data folder. */
  devSigningKey?: boolean;
  /** The demo organisations seeded into an empty registry. */
  demoOrganisations?: boolean;
}

/**
 * Everything NODE_ENV=production refuses in this configuration, one sentence each: the development
 * signing key (anyone with the file mints tokens), demo organisations (known ids, a demo contact
 * point receiving cases), the development issuer and audience (tokens of another deployment or of
 * a developer's machine would verify), and a JWKS fetched over plain http (keys swapped in transit)
 * unless JWKS_ALLOW_HTTP=true says so on purpose.
 */
export function productionRefusals(config: HostConfig, env: NodeJS.ProcessEnv, uses: DevelopmentFeatures = {}): string[] {
  if (config.NODE_ENV !== 'production') return [];
  const refusals: string[] = [];
  if (uses.devSigningKey) {
    refusals.push('the development signing key: set JWKS_URL or JWKS_FILE to your identity provider\'s keys');
  }
  if (uses.demoOrganisations) {
    refusals.push('seeding the demo organisations: register the real organisations instead (embedded mode always seeds them: run the distributed services)');
  }
  if (!env.JWT_ISSUER || config.JWT_ISSUER === DEV_JWT_ISSUER) {
    refusals.push(`the development token issuer (${DEV_JWT_ISSUER}): set JWT_ISSUER to your identity provider's issuer`);
  }
  if (!env.JWT_AUDIENCE) refusals.push(`the default token audience (${DEV_JWT_AUDIENCE}): set JWT_AUDIENCE to this deployment's audience`);
  if (config.JWKS_URL && new URL(config.JWKS_URL).protocol !== 'https:' && !config.JWKS_ALLOW_HTTP) {
    refusals.push('a JWKS_URL that is not https://: keys fetched in clear can be replaced in transit (JWKS_ALLOW_HTTP=true allows it on purpose)');
  }
  return refusals;
}

/** Stops a production host at start, naming every development feature it was about to use. */
export function assertProductionSafe(config: HostConfig, env: NodeJS.ProcessEnv, uses: DevelopmentFeatures = {}): void {
  const refusals = productionRefusals(config, env, uses);
  if (refusals.length > 0) {
    throw new ConfigError(`NODE_ENV=production refuses to start with:\n${refusals.map((r) => `  - ${r}`).join('\n')}`);
  }
}
