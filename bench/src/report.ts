import type { AppendResults } from './append.bench.js';
import type { HttpResults } from './http.bench.js';
import type { Machine } from './machine.js';
import type { ReplayResults } from './replay.bench.js';
import type { StatementResults } from './statements.bench.js';
import { round } from './stats.js';

/** What bench/results/latest.json holds. Sections that did not run are null. */
export interface BenchReport {
  date: string;
  quick: boolean;
  duration_s: number;
  machine: Machine;
  append: AppendResults | null;
  http: (Omit<HttpResults, 'propagation' | 'rss_mb'> & { statements_per_request?: StatementResults | null }) | null;
  propagation: HttpResults['propagation'] | null;
  ledger_verification: HttpResults['ledger_verification'];
  replay: (ReplayResults & { events_per_s: number | null; events_per_s_source: string; verify_events_per_s: number | null }) | null;
  rss_mb: Record<string, number | null>;
  targets: TargetCheck[];
  /** Figures the issue asks for that this run could not measure, and why. */
  not_measured: string[];
}

export interface Target {
  /** Dotted path into the report. `rss_mb.*` applies to every service. */
  path: string;
  op: '>=' | '<=';
  value: number;
  label: string;
}

export interface TargetCheck extends Target {
  actual: number | null;
  /** null: not measured in this run. */
  met: boolean | null;
}

export const TARGETS: readonly Target[] = [
  { path: 'append.ratio_vs_emmett.c8', op: '>=', value: 1.5, label: 'append vs Emmett, 8 writers' },
  { path: 'append.ratio_vs_emmett.c32', op: '>=', value: 1.5, label: 'append vs Emmett, 32 writers' },
  { path: 'append.ratio_vs_raw.c32', op: '>=', value: 0.6, label: 'append vs raw INSERT, 32 writers' },
  { path: 'http.notify.rps', op: '>=', value: 1500, label: 'POST /v1/cases requests/s' },
  { path: 'http.notify.p99_ms', op: '<=', value: 30, label: 'POST /v1/cases p99 (ms)' },
  { path: 'http.notify_paced.p99_ms', op: '<=', value: 30, label: 'POST /v1/cases p99 at the paced rate (ms)' },
  { path: 'http.notify.non2xx', op: '<=', value: 0, label: 'POST /v1/cases non-2xx' },
  { path: 'propagation.p99_ms', op: '<=', value: 200, label: 'propagation p99 (ms)' },
  { path: 'propagation.ledger.p99_ms', op: '<=', value: 200, label: 'propagation to the ledger p99 (ms)' },
  { path: 'replay.events_per_s', op: '>=', value: 50_000, label: 'replay (projection rebuild) events/s' },
  { path: 'rss_mb.*', op: '<=', value: 200, label: 'peak RSS (MiB)' },
];

export function valueAt(report: unknown, path: string): unknown {
  let node: unknown = report;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function check(target: Target, actual: unknown): TargetCheck {
  if (typeof actual !== 'number' || !Number.isFinite(actual)) return { ...target, actual: null, met: null };
  return { ...target, actual, met: target.op === '>=' ? actual >= target.value : actual <= target.value };
}

/** Every target against the report; `rss_mb.*` expands to one check per service measured. */
export function evaluateTargets(report: Omit<BenchReport, 'targets'>, targets: readonly Target[] = TARGETS): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const t of targets) {
    if (!t.path.endsWith('.*')) {
      out.push(check(t, valueAt(report, t.path)));
      continue;
    }
    const parent = t.path.slice(0, -2);
    const members = valueAt(report, parent);
    const keys = members && typeof members === 'object' ? Object.keys(members) : [];
    if (keys.length === 0) out.push(check(t, undefined));
    for (const k of keys) out.push(check({ ...t, path: `${parent}.${k}`, label: `${t.label}: ${k}` }, valueAt(report, `${parent}.${k}`)));
  }
  return out;
}

/** Left-aligned first column, right-aligned numbers, a rule under the header. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(r))].join('\n');
}

export function fmt(v: number | null | undefined, unit = ''): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  const text = Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-GB') : String(v);
  return `${text}${unit}`;
}

/** The human-readable summary printed at the end of a run. */
export function renderReport(r: BenchReport): string {
  const parts: string[] = [];
  const m = r.machine;
  parts.push(
    `TRM benchmark ${r.quick ? '(quick) ' : ''}${r.date} — ${m.cores} cores (${m.cpu}), load ${m.load_at_start} at start, ` +
      `Node ${m.node}, PostgreSQL ${m.postgres}, NATS ${m.nats ?? '?'} — ${r.duration_s} s`,
  );
  if (r.append) {
    const rows: string[][] = [];
    for (const [scenario, byWriters] of Object.entries(r.append.scenarios)) {
      for (const [writers, f] of Object.entries(byWriters)) {
        rows.push([
          `${scenario} ${writers}`,
          `${fmt(f.trm.appends_per_s)} / ${fmt(f.trm.events_per_s)}`,
          `${fmt(f.emmett.appends_per_s)} / ${fmt(f.emmett.events_per_s)}`,
          `${fmt(f.raw.appends_per_s)} / ${fmt(f.raw.events_per_s)}`,
          `${fmt(f.trm.p50_ms)} / ${fmt(f.trm.p99_ms)}`,
          `${fmt(f.emmett.p50_ms)} / ${fmt(f.emmett.p99_ms)}`,
          `${fmt(f.raw.p50_ms)} / ${fmt(f.raw.p99_ms)}`,
          fmt(f.ratio_vs_emmett, '×'),
          fmt(f.ratio_vs_raw, '×'),
        ]);
      }
    }
    parts.push(
      `\n1. Append (appends/s / events/s; latency p50 / p99 ms; ${r.append.rounds} interleaved round(s) of ${r.append.slot_ms} ms per slot; rows verified: ${r.append.verified ? 'yes' : 'NO'})`,
      formatTable(['scenario writers', 'TRM', 'Emmett', 'raw INSERT', 'TRM ms', 'Emmett ms', 'raw ms', 'vs Emmett', 'vs raw'], rows),
    );
    const diagnostic: string[][] = [];
    for (const [scenario, byWriters] of Object.entries(r.append.scenarios)) {
      for (const [writers, f] of Object.entries(byWriters)) {
        const d = f.diagnostics;
        if (!d) continue;
        const vs = (x: number | null | undefined) => fmt(x != null && f.emmett.events_per_s ? Math.round((x / f.emmett.events_per_s) * 100) / 100 : null, '×');
        diagnostic.push([
          `${scenario} ${writers}`,
          fmt(f.trm.events_per_s),
          fmt(d.trm_no_notify?.events_per_s),
          fmt(d.trm_one_statement?.events_per_s),
          fmt(f.emmett.events_per_s),
          vs(d.trm_one_statement?.events_per_s),
        ]);
      }
    }
    if (diagnostic.length > 0) {
      parts.push(
        `\nDiagnosis (BENCH_DIAGNOSE=1), events/s: TRM's store without the NOTIFY trigger, and the one-statement append proposal (no NOTIFY either)`,
        formatTable(['scenario writers', 'TRM', 'no NOTIFY', 'one statement', 'Emmett', 'one statement vs Emmett'], diagnostic),
      );
    }
  }
  if (r.http) {
    const row = (name: string, f: NonNullable<BenchReport['http']>['notify']) => [
      name,
      fmt(f.rps),
      fmt(f.p50_ms),
      fmt(f.p99_ms),
      fmt(f.non2xx),
      fmt(f.errors),
      fmt(f.requests),
    ];
    parts.push(
      `\n2. Command path over HTTP (${r.http.services.join(', ')} in distributed mode, ${r.http.connections} connections)`,
      formatTable(['route', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'requests'], [
        row('POST /v1/cases', r.http.notify),
        ...(r.http.notify_paced ? [row(`POST /v1/cases paced at ${r.http.notify_paced.offered_rps}/s`, r.http.notify_paced)] : []),
        row('POST /v1/cases/{id}/acknowledgement', r.http.acknowledge),
      ]),
    );
    const st = r.http.statements_per_request;
    if (st) {
      parts.push(
        `\nSQL statements per request (each one a round trip; BEGIN and COMMIT included)`,
        formatTable(['route', 'statements'], [
          ['POST /v1/cases', String(st.notify.statements)],
          ['POST /v1/cases/{id}/acknowledgement', String(st.acknowledge.statements)],
        ]),
      );
      if (st.notify_cpu_ms != null) {
        parts.push(
          `CPU per POST /v1/cases in the service's process (in-process, 16 in flight, ${st.notify_cpu_requests} requests): ` +
            `${fmt(st.notify_cpu_ms)} ms, so at most ${fmt(round(1000 / st.notify_cpu_ms))} requests/s per core before PostgreSQL's share`,
        );
      }
    }
  }
  if (r.propagation) {
    const p = r.propagation;
    parts.push(
      `\n3. Propagation, 201 → event in another service's projection, under the load of 2`,
      formatTable(['observer', 'cases', 'missing', 'p50 ms', 'p99 ms', 'max ms'], [
        ['JetStream consumer + projection', fmt(p.cases), fmt(p.missing), fmt(p.p50_ms), fmt(p.p99_ms), fmt(p.max_ms)],
        ...(p.ledger ? [['ledger entries (20 ms polls)', fmt(p.ledger.cases), fmt(p.ledger.missing), fmt(p.ledger.p50_ms), fmt(p.ledger.p99_ms), fmt(p.ledger.max_ms)]] : []),
      ]),
    );
  }
  if (r.replay) {
    const x = r.replay;
    parts.push(
      `\n4. Replay of ${fmt(x.events)} generated events (${fmt(x.cases)} cases)`,
      formatTable(['what', 'events/s', 'events', 'seconds'], [
        ['write the history (bulk INSERT, hashes)', fmt(x.generate_events_per_s), fmt(x.events), '-'],
        ['read the log in global order', fmt(x.read_events_per_s), fmt(x.events), '-'],
        ...(x.statistics
          ? [[`statistics rebuildFacts${x.statistics.unparsed > 0 ? ` (${x.statistics.unparsed} unparsed!)` : ''}`, fmt(x.statistics.events_per_s), fmt(x.statistics.events), fmt(x.statistics.seconds)]]
          : []),
        [
          `rebuild ${x.projection.name}, ${x.projection.partitions} transactions at once${x.projection.complete ? '' : ' (time-capped)'}`,
          fmt(x.projection.events_per_s),
          fmt(x.projection.events),
          fmt(x.projection.seconds),
        ],
        [`verify every hash chain (${x.verify.ok ? 'ok' : 'BROKEN'})`, fmt(x.verify.events_per_s), fmt(x.verify.events), fmt(x.verify.seconds)],
        ...(x.ledger
          ? [
              ['record the history in a ledger (appendEntries)', fmt(x.ledger.record.entries_per_s), fmt(x.ledger.entries), fmt(x.ledger.record.seconds)],
              [`ledger reconcile, every entry (${x.ledger.reconcile.ok ? 'ok' : 'DISCREPANCIES'})`, fmt(x.ledger.reconcile.entries_per_s), fmt(x.ledger.entries), fmt(x.ledger.reconcile.seconds)],
              ['ledger Merkle root from every leaf', fmt(x.ledger.merkle_root.entries_per_s), fmt(x.ledger.entries), fmt(x.ledger.merkle_root.seconds)],
            ]
          : []),
      ]),
    );
  }
  if (r.ledger_verification) {
    const v = r.ledger_verification;
    parts.push(
      `\nLedger verification after 2 (reconcile against referrals' events)`,
      formatTable(['what', 'entries/s', 'entries', 'seconds'], [[`reconcile (${v.ok ? 'ok' : 'DISCREPANCIES'})`, fmt(v.entries_per_s), fmt(v.entries), fmt(v.seconds)]]),
    );
  }
  if (Object.keys(r.rss_mb).length > 0) {
    parts.push(`\n5. Peak RSS during 2`, formatTable(['service', 'MiB'], Object.entries(r.rss_mb).map(([s, v]) => [s, fmt(v)])));
  }
  parts.push(
    `\nTargets`,
    formatTable(
      ['figure', 'actual', 'target', 'met'],
      r.targets.map((t) => [t.label, fmt(t.actual), `${t.op} ${fmt(t.value)}`, t.met === null ? 'not measured' : t.met ? 'yes' : 'NO']),
    ),
  );
  if (r.not_measured.length > 0) parts.push(`\nNot measured:\n${r.not_measured.map((s) => `- ${s}`).join('\n')}`);
  return parts.join('\n');
}
