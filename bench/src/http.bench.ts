import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { type JetStreamBus, connectJetStreamBus, startConsumer } from '@trm/bus';
import type { Subscription } from '@trm/bus';
import { createPgDb, migrate } from '@trm/db';
import { reconcile, rotateKeyFile } from '@trm/ledger';
import { devJwks, loadOrCreateDevKey, seedDemoOrganisations, signToken } from '@trm/platform';
import { generateMasterKey } from '@trm/vault';
import { sql } from 'kysely';
import { notifyBody } from './payload.js';
import { type OpenLoopFigures, runOpenLoop } from './open-loop.js';
import type { Progress } from './progress.js';
import { type ServiceProcess, startService } from './service-process.js';
import { REPO_ROOT } from './settings.js';
import { percentile, round } from './stats.js';

const ISSUER = 'trm-bench';
/** The issue's target rate for notifications. */
const PACED_TARGET_RPS = 1500;
const AUDIENCE = 'trm';
const PROBE_SCHEMA = 'bench_probe';

export interface LoadFigures {
  requests: number;
  duration_s: number;
  rps: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  non2xx: number;
  /** Socket errors and timeouts: requests that got no HTTP answer at all. */
  errors: number;
}

export interface PropagationFigures {
  /** Where the events were seen. */
  observer: string;
  cases: number;
  missing: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

/** Services that run beside referrals when they are built: they consume its events under load. */
export const CONSUMING_SERVICES = ['statistics', 'ledger'] as const;

export interface HttpResults {
  connections: number;
  seconds: number;
  services: string[];
  /** As many requests as the service takes: its capacity, latency as queueing at saturation. */
  notify: LoadFigures;
  /**
   * The same requests offered at a fixed rate, evenly spaced (open loop, `runOpenLoop`): the
   * target's 1,500/s, or half the capacity just measured when that is lower, so the latency is
   * the service's, not the queue's.
   */
  notify_paced: OpenLoopFigures;
  acknowledge: LoadFigures;
  propagation: PropagationFigures & {
    /** The same cases seen in the ledger's entries, when the ledger service runs. */
    ledger: PropagationFigures | null;
  };
  rss_mb: Record<string, number | null>;
  /** The ledger reconciled against referrals' events after the run, when the ledger runs. */
  ledger_verification: { ok: boolean; entries: number; seconds: number | null; entries_per_s: number | null } | null;
}

function figures(r: autocannon.Result): LoadFigures {
  const requests = r['2xx'] + r.non2xx;
  return {
    requests,
    duration_s: round(r.duration),
    rps: round(r.duration > 0 ? requests / r.duration : null),
    p50_ms: round(r.latency.p50),
    p99_ms: round(r.latency.p99),
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  } as LoadFigures;
}

function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/**
 * The "other service" of the propagation figure: a durable consumer on the same stream, in its own
 * schema, writing each notified case into a projection table in the inbox transaction (what a
 * real consumer does), and noting when the event reached it.
 */
async function startProbe(url: string, bus: JetStreamBus, prefix: string, arrivals: Map<string, number>) {
  const { db } = createPgDb(url, { max: 4, applicationName: 'trm-bench-probe' });
  await migrate(db, { schema: PROBE_SCHEMA, service: PROBE_SCHEMA });
  await sql`create table if not exists ${sql.table(`${PROBE_SCHEMA}.case_arrivals`)} (case_id uuid primary key, seen_at timestamptz not null default now())`.execute(db);
  const sub: Subscription = await startConsumer({
    db,
    schema: PROBE_SCHEMA,
    name: 'bench-propagation-probe',
    bus,
    filterSubject: `${prefix}.referrals.case-notified`,
    batchSize: 64,
    async handle(tx, envelope) {
      const caseId = String(envelope.data.caseId);
      await sql`insert into ${sql.table(`${PROBE_SCHEMA}.case_arrivals`)} (case_id) values (${caseId}::uuid) on conflict do nothing`.execute(tx);
      if (!arrivals.has(caseId)) arrivals.set(caseId, performance.now());
    },
  });
  return {
    async close() {
      await sub.stop();
      await db.destroy();
    },
  };
}

/**
 * Notes when each notified case appears in the ledger's entries (its read model), polling the
 * table every 20 ms: the figure is as coarse as that.
 */
function startLedgerWatch(url: string, seen: Map<string, number>) {
  const { db } = createPgDb(url, { max: 1, applicationName: 'trm-bench-ledger-watch' });
  let last = '-1';
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const { rows } = await sql<{ case_id: string | null; ledger_index: string }>`
          select case_id, ledger_index::text as ledger_index from ledger.ledger_entries
          where ledger_index > ${last}::bigint order by ledger_index limit 10000`.execute(db);
        const now = performance.now();
        for (const r of rows) if (r.case_id && !seen.has(r.case_id)) seen.set(r.case_id, now);
        if (rows.length > 0) last = rows.at(-1)!.ledger_index;
      } catch {
        // The ledger migrates its schema at start: until then there is nothing to see.
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await db.destroy();
    },
  };
}

function delaysOf(observer: string, answered: Map<string, number>, seen: Map<string, number>): PropagationFigures {
  const delays: number[] = [];
  let missing = 0;
  for (const [caseId, at] of answered) {
    const t = seen.get(caseId);
    if (t === undefined) missing++;
    // The event can reach the observer before autocannon has parsed the 201 that announced it.
    else delays.push(Math.max(0, t - at));
  }
  return {
    observer,
    cases: answered.size,
    missing,
    p50_ms: round(percentile(delays, 50)),
    p99_ms: round(percentile(delays, 99)),
    max_ms: round(percentile(delays, 100)),
  };
}

/**
 * Once the ledger holds every event referrals recorded during the run, times `reconcile`: each
 * entry checked against the event it records (same id, same content hash), none missing or unknown.
 */
async function verifyLedger(url: string): Promise<HttpResults['ledger_verification']> {
  const { db } = createPgDb(url, { max: 2, applicationName: 'trm-bench-ledger-verify' });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { rows } = await sql<{ behind: boolean }>`select (select count(*) from referrals.events) >
        (select count(*) from ledger.ledger_entries where service = 'referrals') as behind`.execute(db);
      if (!rows[0]!.behind || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const t0 = performance.now();
    const report = await reconcile(db, { ledgerSchema: 'ledger', services: ['referrals'], graceMs: 0, now: new Date() });
    const ms = performance.now() - t0;
    const entries = report.services.reduce((n, s) => n + s.entries, 0);
    return { ok: report.ok, entries, seconds: round(ms / 1000), entries_per_s: round((entries * 1000) / ms) };
  } finally {
    await db.destroy();
  }
}

/**
 * The command path over HTTP with services in distributed mode: autocannon against POST /v1/cases
 * (new cases, real JWTs, personal data in the body) and then against the acknowledgement of the
 * cases it created. While the notifications run, a consumer in this process times each case from
 * its 201 to its event in the consumer's projection. The services' peak RSS is read from /proc.
 */
export async function runHttpBench(
  url: string,
  nats: { servers: string; streamName: string; subjectsPrefix: string },
  opts: { seconds: number; connections: number; logLevel: string; cpuProfDir?: string; consumers?: string[] },
  progress: Progress,
): Promise<HttpResults> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trm-bench-'));
  const services: ServiceProcess[] = [];
  let probe: { close(): Promise<void> } | undefined;
  let ledgerWatch: { stop(): Promise<void> } | undefined;
  const bus = await connectJetStreamBus({ servers: nats.servers, streamName: nats.streamName, subjectsPrefix: nats.subjectsPrefix });
  try {
    const { db } = createPgDb(url, { max: 2 });
    await migrate(db, { schema: 'registry', common: false });
    await seedDemoOrganisations(db);
    await db.destroy();

    const key = await loadOrCreateDevKey(dir);
    const jwksFile = path.join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(devJwks(key)));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: url,
      NATS_URL: nats.servers,
      NATS_STREAM: nats.streamName,
      NATS_SUBJECT_PREFIX: nats.subjectsPrefix,
      JWKS_FILE: jwksFile,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      TRM_MASTER_KEYS: `bench-1:${generateMasterKey()}`,
      LOG_LEVEL: opts.logLevel,
      // Every request comes from one address and one token: the limiter must not be what we measure.
      RATE_LIMIT_PER_MINUTE: '1000000000',
    };
    const unknown = (opts.consumers ?? []).filter((name) => !(CONSUMING_SERVICES as readonly string[]).includes(name));
    if (unknown.length > 0) throw new Error(`BENCH_CONSUMERS: unknown service ${unknown.join(', ')} (known: ${CONSUMING_SERVICES.join(', ')})`);
    const consumers = CONSUMING_SERVICES.filter(
      (name) => (opts.consumers === undefined || opts.consumers.includes(name)) && existsSync(path.join(REPO_ROOT, 'services', name, 'dist', 'main.js')),
    );
    if (consumers.includes('ledger')) {
      env.LEDGER_SIGNING_KEY_FILE = path.join(dir, 'ledger-signing-keys.json');
      await rotateKeyFile(env.LEDGER_SIGNING_KEY_FILE);
    }
    progress.step(`http: starting ${['referrals', ...consumers].join(', ')} (distributed mode)`);
    const profiling = opts.cpuProfDir ? { cpuProfDir: opts.cpuProfDir } : {};
    const referrals = await startService('referrals', env, profiling);
    services.push(referrals);
    for (const name of consumers) services.push(await startService(name, env, profiling));
    const inLedger = new Map<string, number>();
    if (consumers.includes('ledger')) ledgerWatch = startLedgerWatch(url, inLedger);

    const arrivals = new Map<string, number>();
    probe = await startProbe(url, bus, nats.subjectsPrefix, arrivals);

    const notifier = await signToken(key, { org: 'ngo-it', orgType: 'ngo', roles: ['notifier', 'case_officer'], issuer: ISSUER, audience: AUDIENCE });
    const ncp = await signToken(key, { org: 'anitp', orgType: 'national_contact_point', roles: ['case_officer'], issuer: ISSUER, audience: AUDIENCE });

    const answered = new Map<string, number>();
    const created: string[] = [];
    let n = 0;
    const notifyRequest = (record: boolean): autocannon.Request => ({
      method: 'POST',
      path: '/v1/cases',
      headers: { authorization: `Bearer ${notifier}`, 'content-type': 'application/json' },
      setupRequest: (req) => ({
        ...req,
        headers: { ...req.headers, 'idempotency-key': randomUUID() },
        body: JSON.stringify(notifyBody(n++)),
      }),
      onResponse: (status, body) => {
        if (status !== 201) return;
        const at = performance.now();
        const caseId = (JSON.parse(body) as { caseId: string }).caseId;
        created.push(caseId);
        if (record) answered.set(caseId, at);
      },
    });

    progress.step('http: warm-up');
    await run({ url: referrals.base, connections: opts.connections, duration: Math.min(3, opts.seconds), requests: [notifyRequest(false)] });

    progress.step(`http: POST /v1/cases for ${opts.seconds} s`);
    const notify = figures(await run({ url: referrals.base, connections: opts.connections, duration: opts.seconds, requests: [notifyRequest(true)] }));

    // Every case answered 201 must reach the probe (and the ledger); stragglers get a bounded time.
    const deadline = Date.now() + 30_000;
    const waiting = () => [...answered.keys()].some((id) => !arrivals.has(id) || (ledgerWatch !== undefined && !inLedger.has(id)));
    while (Date.now() < deadline && waiting()) await new Promise((r) => setTimeout(r, 100));
    const offered = Math.max(1, Math.min(PACED_TARGET_RPS, Math.floor((notify.rps ?? 2) / 2)));
    progress.step(`http: POST /v1/cases paced at ${offered}/s (open loop)`);
    const notifyPaced = await runOpenLoop({
      base: referrals.base,
      rate: offered,
      seconds: Math.max(2, Math.round(opts.seconds / 2)),
      request: () => ({
        method: 'POST',
        path: '/v1/cases',
        headers: { authorization: `Bearer ${notifier}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify(notifyBody(n++)),
      }),
    });
    const propagation = delaysOf('durable JetStream consumer (inbox + projection row in one PostgreSQL transaction)', answered, arrivals);
    const ledger = ledgerWatch ? delaysOf('ledger service: entry in ledger.ledger_entries (polled every 20 ms)', answered, inLedger) : null;

    progress.step(`http: POST /v1/cases/{id}/acknowledgement on ${created.length} cases`);
    // As many acknowledgements as notifications were measured, so this run lasts about as long.
    const queue = created.slice(0, Math.max(1, notify.requests));
    let next = 0;
    const acknowledge = figures(
      await run({
        url: referrals.base,
        connections: opts.connections,
        duration: opts.seconds,
        // Each case is acknowledged once: a second acknowledgement is a 409, which we would count.
        amount: queue.length,
        requests: [
          {
            method: 'POST',
            headers: { authorization: `Bearer ${ncp}`, 'content-type': 'application/json' },
            body: JSON.stringify({ keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', regionalCentreId: 'anitp-rc-bucharest' }),
            setupRequest: (req) => ({ ...req, path: `/v1/cases/${queue[next++ % queue.length]}/acknowledgement` }),
          },
        ],
      }),
    );

    const rss: Record<string, number | null> = {};
    for (const s of services) rss[s.name] = round(await s.peakRssMb());
    const ledgerVerification = consumers.includes('ledger') ? await verifyLedger(url) : null;
    return {
      connections: opts.connections,
      seconds: opts.seconds,
      services: services.map((s) => s.name),
      notify,
      notify_paced: notifyPaced,
      acknowledge,
      propagation: { ...propagation, ledger },
      rss_mb: rss,
      ledger_verification: ledgerVerification,
    };
  } finally {
    await ledgerWatch?.stop().catch(() => {});
    await probe?.close().catch(() => {});
    for (const s of services) await s.stop().catch(() => {});
    await bus.deleteStream().catch(() => {});
    await bus.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}
