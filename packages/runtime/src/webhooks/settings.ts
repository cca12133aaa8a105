import { z } from 'zod';
import { ConfigError, serviceSettings } from '../config.js';
import { allowedHosts, literalAddressRefusal } from './ssrf.js';

/** Policy settings of webhook delivery (every service that notifies reads the same variables). */
export const WebhookEnv = z.object({
  /** Delay before the first retry; each further retry waits four times longer (with ±20 % jitter), up to TRM_WEBHOOK_RETRY_MAX_MS. */
  TRM_WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(1).default(30_000),
  TRM_WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(1).default(6 * 3_600_000),
  /** A delivery is given up (dead) after this many failed attempts… */
  TRM_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(15),
  /** …or once its first attempt is this many hours old, whichever comes first. */
  TRM_WEBHOOK_MAX_HOURS: z.coerce.number().positive().default(72),
  /** Each attempt gets this long for an answer (connection included). */
  TRM_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** Attempts in flight at once per service process. */
  TRM_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** How often the dispatcher looks for due deliveries (a new notification wakes it at once). */
  TRM_WEBHOOK_POLL_MS: z.coerce.number().int().min(10).default(1_000),
  /** Subscriptions one organisation may hold. */
  TRM_WEBHOOK_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).default(10),
  /**
   * Development only (refused with NODE_ENV=production): hosts exempt from the SSRF guard, e.g.
   * `127.0.0.1` for a receiver on this machine. Comma-separated.
   */
  TRM_WEBHOOK_ALLOWED_HOSTS: z.string().optional(),
});
export type WebhookSettings = z.output<typeof WebhookEnv>;

export function webhookSettings(env: NodeJS.ProcessEnv): WebhookSettings {
  const settings = serviceSettings('webhooks', WebhookEnv, env);
  if (env.NODE_ENV === 'production' && settings.TRM_WEBHOOK_ALLOWED_HOSTS?.trim()) {
    throw new ConfigError('NODE_ENV=production refuses to start with:\n  - TRM_WEBHOOK_ALLOWED_HOSTS: webhooks to private or loopback addresses are for development only');
  }
  return settings;
}

/** When the next attempt is due after `attempts` failed ones: exponential (×4) from the base, capped, ±20 % jitter. */
export function retryDelayMs(settings: Pick<WebhookSettings, 'TRM_WEBHOOK_RETRY_BASE_MS' | 'TRM_WEBHOOK_RETRY_MAX_MS'>, attempts: number, random: () => number = Math.random): number {
  const exp = settings.TRM_WEBHOOK_RETRY_BASE_MS * 4 ** Math.max(0, Math.min(attempts - 1, 20));
  const capped = Math.min(exp, settings.TRM_WEBHOOK_RETRY_MAX_MS);
  return Math.max(1, Math.round(capped * (0.8 + 0.4 * random())));
}

/**
 * Why a subscription URL is refused, or undefined: http(s) only, https only with
 * NODE_ENV=production, no credentials in it (they would be stored and sent in clear), no fragment.
 */
export function urlRefusal(raw: string, env: NodeJS.ProcessEnv): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'only https:// URLs (http:// outside production)';
  if (url.protocol === 'http:' && env.NODE_ENV === 'production') return 'only https:// URLs with NODE_ENV=production';
  if (url.username || url.password) return 'a URL with credentials: authenticate TRM by its signature instead';
  if (url.hash) return 'a URL with a fragment';
  if (!url.hostname) return 'a URL without a host';
  return literalAddressRefusal(url, allowedHosts(env));
}
