import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { LoadFigures } from './http.bench.js';
import { percentile, round } from './stats.js';

export interface OpenLoopRequest {
  method: 'POST' | 'GET';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface OpenLoopFigures extends LoadFigures {
  offered_rps: number;
  /** Sends that left more than 5 ms after their planned time (the generator could not keep up). */
  late_sends: number;
}

/**
 * An open-loop load generator: request i is due at start + i / rate, whether or not the earlier
 * ones have been answered, and its latency runs from the time it was due to its last byte (so a
 * stalled server cannot hide its queue by slowing the sender: no coordinated omission).
 * autocannon's `overallRate` is not this: each connection sends its per-second quota back to back
 * at the start of every second and then waits, so its latency is that of a burst.
 */
export async function runOpenLoop(opts: {
  base: string;
  rate: number;
  seconds: number;
  request: (i: number) => OpenLoopRequest;
  onResponse?: (status: number, body: string) => void;
  /** Requests in flight at most (each on its own keep-alive socket). */
  maxSockets?: number;
}): Promise<OpenLoopFigures> {
  const url = new URL(opts.base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64 });
  const total = Math.max(1, Math.round(opts.rate * opts.seconds));
  const interval = 1000 / opts.rate;
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let late = 0;
  const inFlight = new Set<Promise<void>>();

  const send = (i: number, due: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const r = opts.request(i);
      const req = http.request(
        { host: url.hostname, port: url.port, method: r.method, path: r.path, headers: r.headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            latencies.push(performance.now() - due);
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) non2xx++;
            opts.onResponse?.(status, Buffer.concat(chunks).toString('utf8'));
            resolve();
          });
          res.on('error', () => {
            errors++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(r.body);
    });

  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (performance.now() - due > 5) late++;
    const p = send(i, due).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  const duration = (performance.now() - start) / 1000;
  agent.destroy();
  return {
    requests: latencies.length,
    duration_s: round(duration)!,
    rps: round(latencies.length / duration),
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    non2xx,
    errors,
    offered_rps: opts.rate,
    late_sends: late,
  };
}
