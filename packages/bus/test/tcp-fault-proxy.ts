import net from 'node:net';

/**
 * What the proxy does with traffic:
 * - `pass`: forwards both ways (what was held during a black hole is delivered first, as TCP
 *   retransmission would once a partition heals);
 * - `refuse`: nothing listens on the port: new connections get ECONNREFUSED (a database that is
 *   down); connections already open are left as they are (combine with `cut()`);
 * - `blackhole`: new connections are accepted and nothing is forwarded on any connection, in either
 *   direction (a partition, a frozen server, a firewall dropping packets): the client only notices
 *   through its own timeouts.
 */
export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

export interface TcpFaultProxy {
  readonly host: string;
  readonly port: number;
  readonly mode: ProxyMode;
  /** `url` with its host and port replaced by the proxy's (postgres://…, nats://…). */
  url(url: string): string;
  pass(): Promise<void>;
  refuse(): Promise<void>;
  blackhole(): Promise<void>;
  /** Destroys every current connection on both sides (with a TCP reset); returns how many there were. */
  cut(): number;
  /** Connections open through the proxy right now. */
  connections(): number;
  /** Connections accepted since the start, whatever became of them. */
  accepted(): number;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket | undefined;
  flowing: boolean;
}

/**
 * A TCP proxy in front of `target` that fails on command. Node only (node:net), so tests need no
 * root, no iptables and no container. It listens on 127.0.0.1, on `port` or a free one.
 */
export async function startTcpFaultProxy(target: { host: string; port: number }, opts: { port?: number } = {}): Promise<TcpFaultProxy> {
  const host = '127.0.0.1';
  const pairs = new Set<Pair>();
  let mode: ProxyMode = 'pass';
  let server: net.Server | undefined;
  let accepted = 0;
  let closed = false;

  const destroy = (pair: Pair, reset = false) => {
    if (!pairs.delete(pair)) return;
    for (const s of [pair.client, pair.upstream]) {
      if (!s || s.destroyed) continue;
      if (reset && typeof s.resetAndDestroy === 'function' && s.readyState === 'open') s.resetAndDestroy();
      else s.destroy();
    }
  };

  /** Starts (or resumes) the flow of a pair once the proxy passes traffic. */
  const flow = (pair: Pair) => {
    if (pair.flowing || mode !== 'pass' || pair.client.destroyed) return;
    if (!pair.upstream) {
      const upstream = net.connect({ host: target.host, port: target.port });
      pair.upstream = upstream;
      upstream.setNoDelay(true);
      upstream.on('error', () => destroy(pair));
      upstream.on('close', () => destroy(pair));
      upstream.once('connect', () => {
        if (mode === 'pass') pipeBoth(pair);
      });
      return;
    }
    if (pair.upstream.connecting) return; // pipes once connected
    pipeBoth(pair);
  };

  const pipeBoth = (pair: Pair) => {
    if (pair.flowing || !pair.upstream || pair.client.destroyed || pair.upstream.destroyed) return;
    pair.flowing = true;
    // pipe() resumes the sockets and flushes what they buffered meanwhile, with back-pressure.
    pair.client.pipe(pair.upstream);
    pair.upstream.pipe(pair.client);
  };

  /** Stops forwarding: the sockets stay open, unread; what arrives waits in their buffers. */
  const hold = (pair: Pair) => {
    if (!pair.flowing || !pair.upstream) return;
    pair.flowing = false;
    pair.client.unpipe(pair.upstream);
    pair.upstream.unpipe(pair.client);
    pair.client.pause();
    pair.upstream.pause();
  };

  const onConnection = (client: net.Socket) => {
    accepted++;
    const pair: Pair = { client, upstream: undefined, flowing: false };
    pairs.add(pair);
    client.setNoDelay(true);
    client.on('error', () => destroy(pair));
    client.on('close', () => destroy(pair));
    // Nothing is read before the flow starts: in a black hole the client's bytes stay unread.
    client.pause();
    flow(pair);
  };

  const listen = async (port: number): Promise<net.Server> => {
    // A fresh server each time: a closed net.Server keeps its old connections until they end.
    for (let attempt = 1; ; attempt++) {
      const srv = net.createServer({ pauseOnConnect: true }, onConnection);
      try {
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen({ host, port, exclusive: true }, () => {
            srv.off('error', reject);
            resolve();
          });
        });
        srv.on('error', () => {});
        return srv;
      } catch (err) {
        // Re-listening on the same port right after closing it can race the kernel briefly.
        if (attempt >= 50 || port === 0) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const stopListening = async () => {
    const srv = server;
    server = undefined;
    if (!srv) return;
    // close() stops accepting at once; its callback would wait for the open connections.
    srv.close();
  };

  server = await listen(opts.port ?? 0);
  const port = (server.address() as net.AddressInfo).port;

  const setMode = async (next: ProxyMode) => {
    if (closed) throw new Error('proxy closed');
    mode = next;
    if (next === 'refuse') await stopListening();
    else if (!server) server = await listen(port);
    for (const pair of [...pairs]) {
      if (next === 'pass') flow(pair);
      else if (next === 'blackhole') hold(pair);
    }
  };

  return {
    host,
    port,
    get mode() {
      return mode;
    },
    url(url: string) {
      const u = new URL(url);
      u.hostname = host;
      u.port = String(port);
      return u.toString();
    },
    pass: () => setMode('pass'),
    refuse: () => setMode('refuse'),
    blackhole: () => setMode('blackhole'),
    cut() {
      const n = pairs.size;
      for (const pair of [...pairs]) destroy(pair, true);
      return n;
    },
    connections: () => pairs.size,
    accepted: () => accepted,
    async close() {
      closed = true;
      await stopListening();
      for (const pair of [...pairs]) destroy(pair);
    },
  };
}

/** Host and port of a postgres:// or nats:// URL. */
export function targetOf(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: u.port ? Number(u.port) : defaultPort };
}
