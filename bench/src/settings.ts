import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The repository root (…/bench/{src,dist} → …). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const flag = z
  .enum(['', '0', '1', 'false', 'true'])
  .default('')
  .transform((v) => v === '1' || v === 'true');
const count = z.coerce.number().int().positive();

/**
 * Every knob of a run, from the environment. BENCH_QUICK picks the reduced profile (under two
 * minutes); each BENCH_* variable below overrides one figure of the chosen profile.
 */
const BenchEnv = z.object({
  BENCH_QUICK: flag,
  /** Adds variants that explain a gap (see DIAGNOSTIC_CONTENDERS) to the append comparison. */
  BENCH_DIAGNOSE: flag,
  BENCH_OUT: z.string().min(1).optional(),
  /** Interleaved rounds of the append comparison; every slot of every round runs each store once. */
  BENCH_APPEND_ROUNDS: count.optional(),
  /** Duration of one (store, scenario, writers) slot. */
  BENCH_APPEND_SLOT_MS: count.optional(),
  BENCH_HTTP_SECONDS: count.optional(),
  /** Open connections of autocannon (each keeps one request in flight). */
  BENCH_HTTP_CONNECTIONS: count.optional(),
  BENCH_REPLAY_EVENTS: count.optional(),
  /** Statistics' rebuild cannot stop early: it replays this first part of the history. */
  BENCH_STATS_REPLAY_EVENTS: count.optional(),
  /** The part of it recorded in a ledger and verified (reconcile, Merkle root). */
  BENCH_LEDGER_EVENTS: count.optional(),
  /** Log level of the spawned services; request logging at `info` costs throughput on 2 cores. */
  BENCH_SERVICE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('warn'),
  /** When set, the spawned services run with --cpu-prof and write their profiles here. */
  BENCH_CPU_PROF_DIR: z.string().min(1).optional(),
  /**
   * Consuming services started beside referrals in section 2 (comma-separated; default all that
   * are built). Empty (`BENCH_CONSUMERS=`) measures referrals alone: a diagnostic, since in
   * production they run beside it.
   */
  BENCH_CONSUMERS: z
    .string()
    .optional()
    .transform((s) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean))),
  BENCH_SKIP: z
    .string()
    .default('')
    .transform((s) => new Set(s.split(',').map((x) => x.trim()).filter(Boolean))),
});

export type Section = 'append' | 'http' | 'replay';

export interface BenchSettings {
  quick: boolean;
  out: string;
  append: { rounds: number; slotMs: number; writers: readonly number[]; diagnose: boolean };
  http: { seconds: number; connections: number; logLevel: string; cpuProfDir?: string; consumers?: string[] };
  /** The projection rebuild stops at maxSeconds and reports the rate it held. */
  replay: { events: number; maxSeconds: number; statisticsEvents: number; ledgerEvents: number };
  skip: ReadonlySet<string>;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const parsed = BenchEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid benchmark settings:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const quick = e.BENCH_QUICK;
  return {
    quick,
    out: path.resolve(REPO_ROOT, e.BENCH_OUT ?? 'bench/results/latest.json'),
    append: {
      rounds: e.BENCH_APPEND_ROUNDS ?? (quick ? 1 : 3),
      slotMs: e.BENCH_APPEND_SLOT_MS ?? (quick ? 1_000 : 2_500),
      writers: [1, 8, 32],
      diagnose: e.BENCH_DIAGNOSE,
    },
    http: {
      seconds: e.BENCH_HTTP_SECONDS ?? (quick ? 8 : 30),
      connections: e.BENCH_HTTP_CONNECTIONS ?? 16,
      logLevel: e.BENCH_SERVICE_LOG_LEVEL,
      ...(e.BENCH_CPU_PROF_DIR ? { cpuProfDir: path.resolve(e.BENCH_CPU_PROF_DIR) } : {}),
      ...(e.BENCH_CONSUMERS ? { consumers: e.BENCH_CONSUMERS } : {}),
    },
    replay: {
      events: e.BENCH_REPLAY_EVENTS ?? (quick ? 50_000 : 1_000_000),
      maxSeconds: quick ? 15 : 60,
      statisticsEvents: e.BENCH_STATS_REPLAY_EVENTS ?? (quick ? 50_000 : 1_000_000),
      // The ledger's writer records about 10,000 entries/s here: a million would push the full run past 10 minutes.
      ledgerEvents: e.BENCH_LEDGER_EVENTS ?? (quick ? 20_000 : 250_000),
    },
    skip: e.BENCH_SKIP,
  };
}
