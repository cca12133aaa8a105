import net from 'node:net';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export const START_HINT = [
  'Tests need PostgreSQL and NATS JetStream. Either set DATABASE_URL and NATS_URL, or start the local servers:',
  '  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  '  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log',
].join('\n');

export function baseDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
}

export function natsUrl(): string {
  return process.env.TEST_NATS_URL ?? process.env.NATS_URL ?? DEFAULT_NATS_URL;
}

export function reachable(url: string, defaultPort: number, timeoutMs = 2000): Promise<boolean> {
  const u = new URL(url);
  const port = u.port ? Number(u.port) : defaultPort;
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
