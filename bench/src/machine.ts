import os from 'node:os';
import pg from 'pg';

export interface Machine {
  cores: number;
  cpu: string;
  memory_gb: number;
  /** 1-minute load average when the run started: above the core count, the figures are noisy. */
  load_at_start: number;
  os: string;
  node: string;
  postgres: string;
  nats: string | null;
}

export async function describeMachine(databaseUrl: string, natsVersion: string | null): Promise<Machine> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let postgres: string;
  try {
    postgres = (await client.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v;
  } finally {
    await client.end();
  }
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    load_at_start: Math.round(os.loadavg()[0]! * 100) / 100,
    os: `${os.type()} ${os.release()}`,
    node: process.versions.node,
    postgres,
    nats: natsVersion,
  };
}
