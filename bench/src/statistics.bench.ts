/**
 * Statistics release benchmark (issue 14): prints figures, asserts nothing.
 *
 *   node bench/dist/statistics.bench.js [--cases 1000,5000] [--audit] [--seed 14]
 *
 * For each size: N generated cases over every case dimension (a realistic spread: mostly RO
 * citizens, a few rare citizenships that the release folds into `other`), protected as one
 * linked system for the public tier (k = 10, base 5) and the internal tier (k = 3, exact), as a
 * release does: time per tier, tables, cells, suppressed cells, and the longest time the event
 * loop was held (the protection yields between bounded slices of work). Then what a request
 * costs: slicing the protected release (no protection at request time). With --audit, the
 * attacker's linear program (HiGHS) over every published cell of the case tables, for every
 * suppressed sensitive cell, on the release as the service makes it (protected, then LP-audited
 * and repaired, TRM_STATS_LP_AUDIT): cells audited, the narrowest feasible interval, failures
 * (interval below 1), and the time; the release is also protected without the repair for comparison.
 */
import { parseArgs } from 'node:util';
import { type FigureRow, FIGURES, auditRelease, figureById, linkedSystem, protectYear, sliceTable, type TierPolicy, type YearInput } from '@trm/statistics';

const { values } = parseArgs({ options: { cases: { type: 'string' }, audit: { type: 'boolean' }, seed: { type: 'string' } } });
const sizes = (values.cases ?? '1000,5000').split(',').map(Number);

let state = Number(values.seed ?? 14) >>> 0;
const rand = () => ((state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x9e3779b9) >>> 0) / 2 ** 32);
const pick = <T>(xs: readonly T[], weights?: readonly number[]): T => {
  if (!weights) return xs[Math.floor(rand() * xs.length)]!;
  const total = weights.reduce((a, b) => a + b, 0);
  let r = rand() * total;
  for (let i = 0; i < xs.length; i++) if ((r -= weights[i]!) < 0) return xs[i]!;
  return xs[xs.length - 1]!;
};

function generate(n: number, year = 2026): YearInput {
  const base: FigureRow[] = [];
  for (let i = 0; i < n; i++) {
    const ageBand = pick(['0-13', '14-17', '18-25', '26-35', '36+', 'unknown'], [3, 10, 40, 25, 15, 7]);
    base.push({
      caseId: `case-${i}`,
      dims: {
        month: String(1 + Math.floor(rand() * 12)).padStart(2, '0'),
        sex: pick(['female', 'male', 'other', 'unknown'], [70, 27, 1, 2]),
        ageBand,
        minor: ageBand === '0-13' || ageBand === '14-17' || ageBand === 'unknown' ? 'yes' : 'no',
        citizenship: pick(['RO', 'MD', 'UA', 'BG', 'NG', 'VN', 'IN'], [90, 4, 2, 1, 1, 1, 1]),
        countryOfExploitation: pick(['RO', 'IT', 'DE', 'ES', 'FR', 'UK', 'NL'], [35, 20, 15, 12, 8, 6, 4]),
        form: pick(['sexual_exploitation', 'forced_labour', 'forced_begging', 'forced_criminality', 'child_labour', 'forced_marriage', 'servitude', 'organ_removal', 'other'], [45, 30, 8, 6, 3, 3, 2, 1, 2]),
        crossBorder: pick(['yes', 'no'], [60, 40]),
        situation: pick(['identified_by_law_enforcement', 'referred_and_returned_by_iom', 'identified_by_international_ngo', 'identified_by_consulate', 'foreign_victim', 'child_victim', 'indefinite_case'], [40, 15, 15, 10, 5, 10, 5]),
        identifyingOrgType: pick(['law_enforcement', 'ngo', 'international_organisation', 'consulate', 'labour_inspectorate', 'child_protection'], [45, 25, 12, 8, 5, 5]),
        regionalCentre: pick(['anitp-rc-bucharest', 'anitp-rc-iasi', 'anitp-rc-cluj', 'anitp-rc-timisoara', 'anitp-rc-craiova', 'unassigned'], [30, 15, 15, 12, 10, 18]),
        victimStatus: pick(['actual', 'possible', 'not_a_victim', 'undetermined'], [55, 20, 5, 20]),
        acknowledgement: pick(['on_time', 'late', 'overdue', 'pending'], [70, 15, 5, 10]),
      },
    });
  }
  const rows: Record<string, FigureRow[]> = Object.fromEntries(FIGURES.map((f) => [f.id, []]));
  rows['victims-notified'] = base;
  rows['victims-identified'] = base.filter((r) => r.dims.victimStatus === 'actual');
  rows['acknowledgements-overdue'] = base.filter((r) => r.dims.acknowledgement === 'late' || r.dims.acknowledgement === 'overdue');
  return { year, rows };
}

/** Longest gap between event-loop turns while `work` runs: how long the loop was held at most. */
async function measureLoop<T>(work: () => Promise<T>): Promise<{ result: T; ms: number; maxBlockMs: number }> {
  let last = performance.now();
  let maxBlock = 0;
  let running = true;
  const tick = () => {
    const now = performance.now();
    maxBlock = Math.max(maxBlock, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const t0 = performance.now();
  const result = await work();
  const ms = performance.now() - t0;
  running = false;
  return { result, ms, maxBlockMs: maxBlock };
}

const TIERS: TierPolicy[] = [
  { tier: 'public', k: 10, roundingBase: 5, amountRoundingBase: 100, p: 25 },
  { tier: 'internal', k: 3, roundingBase: 1, amountRoundingBase: 1, p: 25 },
];

for (const n of sizes) {
  const input = generate(n);
  type Protected = Awaited<ReturnType<typeof protectYear>>;
  let first: Protected | undefined;
  let last: Protected | undefined;
  console.log(`\n== ${n} generated cases (year 2026) ==`);
  for (const tier of TIERS) {
    first = undefined;
    last = undefined;
    for (const withAudit of values.audit ? [false, true] : [false]) {
      const { result, ms, maxBlockMs } = await measureLoop(() => protectYear(input, tier, {}, { auditor: withAudit ? auditRelease : undefined }));
      const s = result.published.stats;
      console.log(
        `${tier.tier.padEnd(8)} k=${tier.k} base=${tier.roundingBase}${withAudit ? ', LP-audited and repaired' : ''}: protected in ${ms.toFixed(0)} ms${withAudit ? ` (${result.auditRounds} audit rounds)` : ''}; ${s.tables} linked tables, ${s.cells} cells, ${s.suppressed} suppressed (${((100 * s.suppressed) / s.cells).toFixed(1)} %); event loop held at most ${maxBlockMs.toFixed(1)} ms`,
      );
      if (withAudit) last = result;
      else first = result;
    }
    const result = last ?? first!;
    const figure = figureById('victims-notified')!;
    const t0 = performance.now();
    let sliced = 0;
    for (let i = 0; i < 1000; i++) sliced += sliceTable(result.published, figure, { groupBy: ['sex', 'ageBand'], filters: {} }).length;
    console.log(`${''.padEnd(8)} a request (slice sex × ageBand of the protected release): ${((performance.now() - t0) / 1000).toFixed(3)} ms (${sliced / 1000} cells)`);
    if (values.audit) {
      const system = await linkedSystem(input, tier.k);
      const cases = (key: string) => system.cells.get(key)?.cases.size ?? 0;
      // As the repair does: the attacker is given exact counts (stronger than the rounding), so the
      // published cells are constants. For that, the true counts of the published cells.
      const exact = { ...result.published, cells: Object.fromEntries(Object.entries(result.published.cells).map(([key, c]) => [key, c.s ? c : { ...c, v: system.cells.get(key)?.units ?? 0 }])) };
      const audit = await auditRelease(exact, system.tables.filter((t) => t.figure.source === 'cases'), (key) => system.cells.get(key)?.units ?? 0, {
        roundingBase: 1,
        protectionLevel: 1,
        sensitive: (key) => cases(key) > 0 && cases(key) < tier.k,
      });
      const narrowest = audit.audited.reduce((m, c) => Math.min(m, c.max - c.min), Infinity);
      console.log(
        `${''.padEnd(8)} LP audit (HiGHS): ${audit.variables} variables, ${audit.constraints} relations, ${audit.audited.length} suppressed sensitive cells audited, narrowest interval ${narrowest}, ${audit.failures.length} below 1; ${(audit.ms / 1000).toFixed(1)} s`,
      );
      for (const f of audit.failures) console.log(`${''.padEnd(8)}   below 1: ${f.key} (true ${f.truth}, feasible [${f.min}, ${f.max}])`);
    }
  }
}
