import { execFile } from 'node:child_process';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './fault-helpers.js';

const exec = promisify(execFile);

export const PG_BIN = process.env.TRM_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Runs a PostgreSQL tool; as the postgres user when we are root (initdb and pg_ctl refuse root). */
export async function pgTool(tool: string, args: string[], opts: { asPostgres?: boolean } = {}): Promise<string> {
  const bin = path.join(PG_BIN, tool);
  const [cmd, argv] = opts.asPostgres && process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  try {
    const { stdout } = await exec(cmd, argv, { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

/**
 * A PostgreSQL cluster of our own (transaction ids are cluster-wide: a fresh cluster starts again
 * near 3 while the shared one is far ahead), in a temporary folder on a free port. Always `destroy()` it.
 */
export async function startPrivatePostgres() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trm-pg-'));
  const data = path.join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number((await exec('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await exec('id', ['-g', 'postgres'])).stdout.trim());
    await chown(dir, uid, gid);
  }
  const port = await freePort();
  let running = false;
  const log = path.join(dir, 'server.log');
  const start = async () => {
    try {
      await pgTool('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', `-p ${port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off`, 'start'], { asPostgres: true });
    } catch (err) {
      const tail = await readFile(log, 'utf8').then((t) => t.split('\n').slice(-15).join('\n'), () => '');
      throw new Error(`${(err as Error).message}\nserver log:\n${tail}`);
    }
    running = true;
  };
  const stop = async () => {
    if (!running) return;
    try {
      await pgTool('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', 'fast', 'stop'], { asPostgres: true });
    } catch {
      await pgTool('pg_ctl', ['-D', data, '-w', '-t', '30', '-m', 'immediate', 'stop'], { asPostgres: true });
    }
    running = false;
  };
  try {
    await pgTool('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'], { asPostgres: true });
    await start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    data,
    port,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start,
    stop,
    async destroy() {
      try {
        await stop();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
