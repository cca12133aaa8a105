import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from './settings.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });
}

/** Resident set of a process from /proc, in MiB: now (VmRSS) and the peak since it started (VmHWM). */
export async function readRss(pid: number): Promise<{ rssMb: number; peakMb: number } | null> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

export interface ServiceProcess {
  name: string;
  base: string;
  pid: number;
  /** Highest RSS seen by the sampler and the kernel's own high-water mark, in MiB. */
  peakRssMb(): Promise<number | null>;
  /** Last lines the service wrote (its log level is warn by default), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node services/<name>/dist/main.js` in distributed mode, as a deployment would, and waits
 * for /health/ready. Its output is kept (bounded) to explain a failure.
 */
export async function startService(name: string, env: NodeJS.ProcessEnv, opts: { cpuProfDir?: string } = {}): Promise<ServiceProcess> {
  const main = path.join(REPO_ROOT, 'services', name, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`make build\` first`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The profile is written when the service exits (SIGTERM in stop()).
  const flags = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
  const child: ChildProcess = spawn(process.execPath, [...flags, main], {
    env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${out}`);
    if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} not ready after 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  let sampledPeak = 0;
  const sampler = setInterval(() => {
    void readRss(child.pid!).then((r) => {
      if (r && r.rssMb > sampledPeak) sampledPeak = r.rssMb;
    });
  }, 250);
  sampler.unref();

  return {
    name,
    base,
    pid: child.pid!,
    async peakRssMb() {
      const r = await readRss(child.pid!);
      const peak = Math.max(sampledPeak, r?.peakMb ?? 0);
      return peak > 0 ? peak : null;
    },
    output: () => out,
    async stop() {
      clearInterval(sampler);
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
