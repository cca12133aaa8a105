import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InProcessBus } from '@trm/bus';
import { devJwks, loadOrCreateDevKey, signToken } from '@trm/platform';
import { referralsModule } from '@trm/referrals';
import { buildHost, loadHostConfig } from '@trm/runtime';
import { generateMasterKey } from '@trm/vault';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { notifyBody } from './payload.js';
import { round } from './stats.js';

export interface StatementCount {
  /** SQL statements the service sent to PostgreSQL for one request, BEGIN and COMMIT included. */
  statements: number;
  /** Each statement's opening words (never its parameters: no personal data). */
  shapes: string[];
}

export interface StatementResults {
  notify: StatementCount;
  acknowledge: StatementCount;
  /**
   * CPU time of this process per notification (user + system), 16 requests in flight through
   * app.inject with the relay stopped: the service's own cost of a request under load, without
   * the network, PostgreSQL and the other services. 1000 / this is what one core could serve.
   */
  notify_cpu_ms: number | null;
  /** Requests timed for notify_cpu_ms. */
  notify_cpu_requests: number;
}

/** A statement's shape: its first words and the table it names, enough to recognise it. */
export function shapeOf(sqlText: string): string {
  const flat = sqlText.replace(/\s+/g, ' ').trim();
  const table = /\b(?:from|into|update|on)\s+("?[\w]+"?\.)?"?([\w]+)"?/i.exec(flat);
  const head = flat.split(' ').slice(0, 2).join(' ').replace(/[(,].*$/, '');
  return table ? `${head} … ${table[2]}` : flat.slice(0, 60);
}

/**
 * Round trips are what a command costs on this kind of machine (a VM where every socket write is
 * expensive), so the benchmark counts them: the referrals module runs in this process on a
 * counting connection, its relay stopped so only the request's own statements are seen, and one
 * warmed-up notification and one acknowledgement are sent through app.inject. The count does not
 * depend on the machine, so it is comparable from one run to the next.
 */
const CPU_CONCURRENCY = 16;

export async function countStatements(url: string): Promise<StatementResults> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trm-bench-count-'));
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  let log: string[] | null = null;
  const db = new Kysely<any>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      log?.push(shapeOf(event.query.sql));
    },
  });
  const key = await loadOrCreateDevKey(dir);
  const env = { LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '1000000', TRM_DATA_DIR: dir };
  const host = await buildHost({
    mode: 'distributed',
    modules: [referralsModule],
    config: loadHostConfig(env),
    db,
    bus: new InProcessBus(),
    auth: { jwks: { keys: devJwks(key).keys }, issuer: 'trm-bench', audience: 'trm' },
    masterKeys: `bench-1:${generateMasterKey()}`,
    env,
    seedDemoOrganisations: true,
    logger: false,
  });
  try {
    await host.app.ready();
    await Promise.all(host.relays.map((r) => r.stop()));
    const sign = (org: string, orgType: 'ngo' | 'national_contact_point', roles: Array<'notifier' | 'case_officer'>) =>
      signToken(key, { org, orgType, roles, issuer: 'trm-bench', audience: 'trm' });
    const notifier = await sign('ngo-it', 'ngo', ['notifier']);
    const ncp = await sign('anitp', 'national_contact_point', ['case_officer']);

    const measure = async (
      request: { method: 'POST'; url: string; headers: Record<string, string>; payload: Record<string, unknown> },
      expected: number,
    ): Promise<{ count: StatementCount; body: string }> => {
      log = [];
      const res = await host.app.inject(request);
      const shapes = log;
      log = null;
      if (res.statusCode !== expected) throw new Error(`statement count: expected ${expected}, got ${res.statusCode}`);
      return { count: { statements: shapes.length, shapes }, body: res.body };
    };
    const notify = (n: number) =>
      measure(
        {
          method: 'POST',
          url: '/v1/cases',
          headers: { authorization: `Bearer ${notifier}`, 'idempotency-key': `bench-count-${n}` },
          payload: notifyBody(n),
        },
        201,
      );
    // The first requests fill the caches (organisations, keys); the third is the steady state.
    const ids: string[] = [];
    let last: StatementCount | undefined;
    for (let n = 0; n < 3; n++) {
      const r = await notify(n);
      ids.push((JSON.parse(r.body) as { caseId: string }).caseId);
      last = r.count;
    }
    const ack = async (caseId: string) =>
      measure(
        {
          method: 'POST',
          url: `/v1/cases/${caseId}/acknowledgement`,
          headers: { authorization: `Bearer ${ncp}` },
          payload: { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', regionalCentreId: 'anitp-rc-bucharest' },
        },
        200,
      );
    await ack(ids[0]!);
    await ack(ids[1]!);
    const acknowledge = (await ack(ids[2]!)).count;

    // 16 requests in flight, as the HTTP run keeps: warm (JIT, caches), then timed.
    let n = 3;
    const load = async (count: number) => {
      const end = n + count;
      await Promise.all(Array.from({ length: CPU_CONCURRENCY }, async () => {
        while (n < end) {
          const i = n++;
          const res = await host.app.inject({
            method: 'POST',
            url: '/v1/cases',
            headers: { authorization: `Bearer ${notifier}`, 'idempotency-key': `bench-cpu-${i}` },
            payload: notifyBody(i),
          });
          if (res.statusCode !== 201) throw new Error(`CPU per request: expected 201, got ${res.statusCode}`);
        }
      }));
    };
    await load(300);
    const cpuRequests = 1000;
    const before = process.cpuUsage();
    await load(cpuRequests);
    const used = process.cpuUsage(before);
    const notifyCpuMs = (used.user + used.system) / 1000 / cpuRequests;
    return { notify: last!, acknowledge, notify_cpu_ms: round(notifyCpuMs), notify_cpu_requests: cpuRequests };
  } finally {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  }
}
