import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';

export interface ServeOptions {
  port: number;
  host?: string;
  /** Runs after app.close(), i.e. after every preClose and onClose hook. */
  onShutdown?: () => Promise<void>;
  /** Longest a graceful shutdown may take before the process exits anyway. */
  graceMs?: number;
}

/**
 * Listens and closes on SIGTERM/SIGINT or a fatal error. Ordering lives in the app's hooks:
 * `preClose` (stop consumers, relay) runs while in-flight requests finish, then `onClose`
 * (drain NATS, close pools).
 */
export async function serve(app: FastifyInstance, opts: ServeOptions): Promise<{ close(): void }> {
  const graceful = closeWithGrace({ delay: opts.graceMs ?? 10_000, logger: app.log }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'fatal error, shutting down');
    else app.log.info({ signal }, 'shutting down');
    await app.close();
    await opts.onShutdown?.();
  });
  app.addHook('onClose', async () => graceful.uninstall());
  await app.listen({ port: opts.port, host: opts.host ?? '0.0.0.0' });
  return { close: graceful.close };
}
