import { START_HINT, baseDatabaseUrl, natsUrl, reachable } from './infra.js';

/**
 * Runs once before any test file. Tests never skip silently: when PostgreSQL or NATS cannot be
 * reached we fail the whole run and say what to start. (testcontainers would be the third
 * option, but only where a Docker engine runs; see docs/TESTING.md.)
 */
export default async function setup(): Promise<void> {
  const [pg, nats] = await Promise.all([reachable(baseDatabaseUrl(), 5432), reachable(natsUrl(), 4222)]);
  const missing = [!pg && `PostgreSQL at ${redact(baseDatabaseUrl())}`, !nats && `NATS at ${natsUrl()}`].filter(Boolean);
  if (missing.length > 0) {
    throw new Error(`Cannot reach ${missing.join(' and ')}.\n${START_HINT}`);
  }
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
