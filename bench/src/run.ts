/**
 * `make bench` (BENCH_QUICK=1 for the short run): every figure of docs/PERFORMANCE.md against real
 * PostgreSQL and NATS JetStream, in a database and a stream made for this run and removed after.
 * Prints a table and writes bench/results/latest.json. Speed never fails the run; broken
 * measurements (rows missing, chains broken, infrastructure down) do.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { connectJetStreamBus } from '@trm/bus';
import { baseDatabaseUrl, createTestDatabase, natsUrl, randomSuffix, reachable, START_HINT } from '@trm/testing';
import { DIAGNOSTIC_CONTENDERS, runAppendBench, SCENARIOS } from './append.bench.js';
import { runHttpBench } from './http.bench.js';
import { describeMachine } from './machine.js';
import { createProgress } from './progress.js';
import { type BenchReport, evaluateTargets, renderReport } from './report.js';
import { runReplayBench } from './replay.bench.js';
import { countStatements } from './statements.bench.js';
import { loadSettings } from './settings.js';

async function natsVersion(servers: string): Promise<string | null> {
  const bus = await connectJetStreamBus({ servers, streamName: `TRM_BENCH_PROBE_${randomSuffix()}`, subjectsPrefix: `trmbenchprobe${randomSuffix()}` });
  try {
    return bus.nc.info?.version ?? null;
  } finally {
    await bus.deleteStream().catch(() => {});
    await bus.close();
  }
}

async function main(): Promise<void> {
  const settings = loadSettings();
  const [pgUp, natsUp] = await Promise.all([reachable(baseDatabaseUrl(), 5432), reachable(natsUrl(), 4222)]);
  if (!pgUp || !natsUp) throw new Error(`The benchmark needs PostgreSQL and NATS JetStream.\n${START_HINT}`);

  const started = performance.now();
  const runs = (s: string) => !settings.skip.has(s);
  const contenders = 3 + (settings.append.diagnose ? DIAGNOSTIC_CONTENDERS.length : 0);
  const appendSteps = settings.append.rounds * Object.keys(SCENARIOS).length * settings.append.writers.length * contenders;
  const progress = createProgress((runs('append') ? appendSteps : 0) + (runs('http') ? 7 : 0) + (runs('replay') ? 5 : 0));
  const machine = await describeMachine(baseDatabaseUrl(), await natsVersion(natsUrl()));
  const database = await createTestDatabase('trm_bench');
  const suffix = randomSuffix();
  let report: BenchReport;
  try {
    const append = runs('append') ? await runAppendBench(database.url, settings.append, progress) : null;
    const http = runs('http')
      ? await runHttpBench(database.url, { servers: natsUrl(), streamName: `TRM_BENCH_${suffix}`, subjectsPrefix: `trmbench${suffix}` }, settings.http, progress)
      : null;
    let statements = null;
    if (runs('http')) {
      progress.step('http: statements per request');
      // Its own database: the in-process module must not share tables with the spawned service.
      const countDb = await createTestDatabase('trm_bench_count');
      try {
        statements = await countStatements(countDb.url);
      } finally {
        await countDb.drop().catch(() => {});
      }
    }
    let replay = null;
    if (runs('replay')) {
      // Its own database: the history sits in `referrals`, where the HTTP section's service wrote.
      const replayDb = await createTestDatabase('trm_bench_replay');
      try {
        replay = await runReplayBench(replayDb.url, settings.replay, progress);
      } finally {
        await replayDb.drop().catch(() => {});
      }
    }
    progress.stop();

    const { propagation, rss_mb, ledger_verification, ...httpRest } = http ?? { propagation: null, rss_mb: {}, ledger_verification: null };
    const notMeasured: string[] = [];
    if (http && !http.services.includes('ledger')) notMeasured.push('propagation to the ledger: services/ledger/dist/main.js is not built');
    if (replay && !replay.statistics) notMeasured.push("statistics' rebuild: @trm/statistics is not built");
    if (http && !ledger_verification) notMeasured.push('ledger verification: the ledger service did not run');
    if (replay && !replay.ledger) notMeasured.push('ledger verification over the generated history: @trm/ledger is not built');
    const partial: Omit<BenchReport, 'targets'> = {
      date: new Date().toISOString(),
      quick: settings.quick,
      duration_s: Math.round((performance.now() - started) / 1000),
      machine,
      append,
      http: http ? ({ ...httpRest, statements_per_request: statements } as BenchReport['http']) : null,
      propagation,
      ledger_verification,
      // The issue's replay figure is statistics' rebuild once statistics exists; the referrals case
      // projection stands in for it otherwise. Both are in the section.
      replay: replay
        ? {
            ...replay,
            events_per_s: replay.statistics?.events_per_s ?? replay.projection.events_per_s,
            events_per_s_source: replay.statistics ? 'statistics rebuildFacts' : 'referrals case projection',
            verify_events_per_s: replay.verify.events_per_s,
          }
        : null,
      rss_mb,
      not_measured: notMeasured,
    };
    report = { ...partial, targets: evaluateTargets(partial) };
  } finally {
    progress.stop();
    await database.drop().catch((err: unknown) => process.stderr.write(`could not drop ${database.name}: ${String(err)}\n`));
  }

  await mkdir(path.dirname(settings.out), { recursive: true });
  await writeFile(settings.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${renderReport(report)}\n\nWritten to ${path.relative(process.cwd(), settings.out) || settings.out}\n`);

  // Measurements that cannot be trusted fail the run; speed never does.
  const broken = [
    report.append && !report.append.verified && 'append: a store holds a different number of events than was counted',
    report.propagation && report.propagation.missing > 0 && `propagation: ${report.propagation.missing} notified cases never reached the consumer`,
    report.propagation?.ledger && report.propagation.ledger.missing > 0 && `propagation: ${report.propagation.ledger.missing} notified cases never reached the ledger`,
    report.replay && !report.replay.verify.ok && 'replay: hash-chain verification failed on generated events',
    report.replay?.ledger && !report.replay.ledger.reconcile.ok && 'replay: the ledger of the generated history does not reconcile with its events',
    report.ledger_verification && !report.ledger_verification.ok && 'ledger: reconcile found discrepancies with referrals events',
  ].filter(Boolean);
  if (broken.length > 0) {
    process.stderr.write(`\nThe run is not valid:\n${broken.map((b) => `- ${b}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

await main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
