import path from 'node:path';
import { z } from 'zod';

/**
 * Everything that differs between machines comes from the environment, validated here once;
 * a bad value stops the process at start with a message naming the variable.
 */
const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRM_DATA_DIR: z.string().default('.data'),
  DATABASE_URL: z.string().url().optional(),
  NATS_URL: z.string().optional(),
  NATS_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/).default('TRM'),
  NATS_SUBJECT_PREFIX: z.string().regex(/^[a-z0-9_-]+$/).default('trm'),
  JWKS_URL: z.string().url().optional(),
  JWKS_FILE: z.string().optional(),
  JWT_ISSUER: z.string().default('trm-dev'),
  JWT_AUDIENCE: z.string().default('trm'),
  /** `id:base64key[,id:base64key…]`, first one current. Required in distributed mode. */
  TRM_MASTER_KEYS: z.string().optional(),
  /** Central contact point that receives notifications when no contact point of the victim's
   * citizenship or of the country of identification is registered (policy). */
  TRM_HOME_NCP: z.string().default('anitp'),
  TRM_ACK_DAYS: z.coerce.number().positive().default(2),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
});

export type AppConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    ...e,
    dataDir: path.resolve(e.TRM_DATA_DIR),
    policy: { acknowledgementDays: e.TRM_ACK_DAYS, homeNationalContactPoint: e.TRM_HOME_NCP },
  };
}
