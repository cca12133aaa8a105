import path from 'node:path';
import { z } from 'zod';

/**
 * Settings every host reads from the environment, validated once; a bad value stops the
 * process at start with a message naming the variable. Services validate their own policy
 * variables (ServiceHost.env) the same way.
 */
const HostEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRM_DATA_DIR: z.string().default('.data'),
  DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(20),
  NATS_URL: z.string().min(1).optional(),
  NATS_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/).default('TRM'),
  NATS_SUBJECT_PREFIX: z.string().regex(/^[a-z0-9_-]+$/).default('trm'),
  JWKS_URL: z.string().url().optional(),
  JWKS_FILE: z.string().min(1).optional(),
  /** How long keys fetched from JWKS_URL are trusted before being fetched again (a removed key dies with it). */
  JWKS_CACHE_MAX_AGE_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  /** Least time between two fetches of JWKS_URL caused by an unknown key id. */
  JWKS_COOLDOWN_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  JWT_ISSUER: z.string().min(1).default('trm-dev'),
  JWT_AUDIENCE: z.string().min(1).default('trm'),
  TRM_MASTER_KEYS: z.string().min(1).optional(),
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
