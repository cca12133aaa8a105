import { DIMENSIONS, type DimensionId, FIGURES, type FigureDef, OPEN_DIMENSIONS, canonicalPairs } from './figures.js';
import { type Mask, type Matrix, protect, roundTo } from './suppression.js';

/**
 * Disclosure control of one release, one year and one tier (docs/statistics.md, "Disclosure
 * control"). Pure and deterministic: the same facts, policy and earlier publications give the
 * same release.
 *
 * Every table a query may ask for (each figure's grand total, each dimension alone, each allowed
 * pair), across every figure of the year, is protected as ONE linked system: cells are named by a
 * canonical key (the fact namespace plus the set of conditions that select their units), so the
 * cell "identified, female" of victims-identified and the cell "victimStatus=actual, sex=female"
 * of victims-notified are one cell with one value and one status everywhere, and the
 * complementary suppression runs to a fixed point over all the tables that share cells.
 */

export interface FigureRow {
  caseId: string;
  dims: Record<string, string>;
  amount?: { value: string; currency: string } | undefined;
  measures?: Record<string, number | null> | undefined;
}

/** `dim=value` pairs sorted by dimension, joined by `&`; '' is the grand total. */
export function cellKey(pairs: Record<string, string>): string {
  return Object.keys(pairs)
    .sort()
    .map((d) => `${d}=${pairs[d]}`)
    .join('&');
}

const cents = (amount: string): bigint => {
  const [whole, frac = ''] = amount.split('.');
  return BigInt(whole!) * 100n + BigInt((frac + '00').slice(0, 2));
};
export const formatCents = (c: bigint): string => `${c < 0n ? '-' : ''}${(c < 0n ? -c : c) / 100n}.${String((c < 0n ? -c : c) % 100n).padStart(2, '0')}`;

export interface TierPolicy {
  tier: 'public' | 'internal';
  /** Smallest number of cases (contributors, for amounts and means) a published value may rest on. */
  k: number;
  /** Published counts are rounded to a multiple of this (1: exact). */
  roundingBase: number;
  /** Published amounts are rounded to a multiple of this many currency units. */
  amountRoundingBase: number;
  /** Dominance (p % rule): an amount is sensitive when all contributions but the two largest sum to less than p % of the largest. */
  p: number;
}

/** What earlier releases of the same year and tier published, per cell (never served). */
export interface CellBasis {
  /** Every distinct unit count published for the cell so far. */
  u?: number[];
  /** Per currency: [cents, contributors] when the amount was last published. */
  a?: Record<string, [string, number]>;
  /** Per mean: [sum, contributors] when it was last published. */
  m?: Record<string, [number, number]>;
}
export type Basis = Record<string, CellBasis>;

/** One published cell of a release, by canonical key. */
export interface StoredCell {
  /** Rounded count, null when suppressed. */
  v: number | null;
  /** Suppressed. */
  s?: true;
  /** Structural zero: impossible by definition, published as 0 whatever the population. */
  z?: true;
  a?: Record<string, string | null>;
  m?: Record<string, number | null>;
}

export interface ProtectedYear {
  year: number;
  tier: TierPolicy['tier'];
  /** Categories of every dimension in this release (open dimensions: those with at least k cases, then `other`). */
  categories: Record<string, string[]>;
  cells: Record<string, StoredCell>;
  /** Number of tables protected together and of cells suppressed, for the catalogue and the benchmark. */
  stats: { tables: number; cells: number; suppressed: number };
}

interface Contributions {
  /** Per case: its part of the sum. */
  byCase: Map<string, number>;
  /** Units with a value (the mean's denominator). */
  rows: number;
}
export interface CellStats {
  units: number;
  cases: Set<string>;
  amounts: Map<string, Map<string, bigint>>;
  measures: Map<string, Contributions>;
}

export const STRUCTURAL = '∅';

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));


/** Canonical key of a cell of `figure` (STRUCTURAL for a structural zero). */
export function canonicalKey(figure: FigureDef, pairs: Record<string, string>): string {
  const c = canonicalPairs(figure, pairs);
  return c === null ? STRUCTURAL : `${NAMESPACE[figure.source]}|${cellKey(c)}`;
}
const NAMESPACE: Record<FigureDef['source'], string> = {
  cases: 'cases',
  referrals: 'referrals',
  assistance: 'assistance',
  returns: 'returns',
  proceedings: 'proceedings',
  compensation: 'compensation',
  duties: 'duties',
};

/** Combinations of at most two of `dims` (the empty one first). */
function tableDims(dims: readonly string[]): string[][] {
  const out: string[][] = [[]];
  for (let a = 0; a < dims.length; a++) {
    out.push([dims[a]!]);
    for (let b = a + 1; b < dims.length; b++) out.push([dims[a]!, dims[b]!]);
  }
  return out;
}

/** Categories of the release: closed dimensions their fixed list, open ones what reaches k cases, then `other`. */
export function releaseCategories(caseRows: readonly FigureRow[], k: number): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [d, dim] of Object.entries(DIMENSIONS)) {
    if (!OPEN_DIMENSIONS.includes(d as DimensionId)) {
      out[d] = [...dim.fixed];
      continue;
    }
    const cases = new Map<string, Set<string>>();
    for (const r of caseRows) {
      const v = r.dims[d];
      if (v === undefined) continue;
      if (!cases.has(v)) cases.set(v, new Set());
      cases.get(v)!.add(r.caseId);
    }
    out[d] = [...[...cases].filter(([v, s]) => s.size >= k && v !== 'other').map(([v]) => v).sort(), 'other'];
  }
  return out;
}

/**
 * Folds every value of an open dimension that is not a category of the release into `other`. A
 * closed dimension's value outside its list (a category added to the contracts later) goes to its
 * `other` or `unknown`, else becomes a category of the release: every unit is in exactly one
 * category of every dimension, or the tables would not add up and the protection would not hold.
 */
export function foldRows(rows: readonly FigureRow[], categories: Record<string, string[]>): FigureRow[] {
  const keep = Object.fromEntries(Object.keys(categories).map((d) => [d, new Set(categories[d])]));
  return rows.map((r) => {
    const dims = { ...r.dims };
    for (const [d, v] of Object.entries(dims)) {
      const known = keep[d];
      if (!known || known.has(v)) continue;
      if (OPEN_DIMENSIONS.includes(d as DimensionId) || known.has('other')) dims[d] = 'other';
      else if (known.has('unknown')) dims[d] = 'unknown';
      else {
        categories[d]!.push(v);
        known.add(v);
      }
    }
    return { ...r, dims };
  });
}

async function tabulateInto(cells: Map<string, CellStats>, figure: FigureDef, rows: readonly FigureRow[]): Promise<void> {
  const local = new Map<string, CellStats>();
  const combos = tableDims(figure.dims);
  let n = 0;
  for (const row of rows) {
    // Bounded slices: a release never holds the event loop for long.
    if (++n % 100 === 0) await yieldToLoop();
    for (const dims of combos) {
      const pairs: Record<string, string> = {};
      for (const d of dims) pairs[d] = row.dims[d]!;
      const key = canonicalKey(figure, pairs);
      if (key === STRUCTURAL) continue;
      let c = local.get(key);
      if (!c) local.set(key, (c = { units: 0, cases: new Set(), amounts: new Map(), measures: new Map() }));
      c.units += 1;
      c.cases.add(row.caseId);
      if (row.amount) {
        let per = c.amounts.get(row.amount.currency);
        if (!per) c.amounts.set(row.amount.currency, (per = new Map()));
        per.set(row.caseId, (per.get(row.caseId) ?? 0n) + cents(row.amount.value));
      }
      for (const [name, v] of Object.entries(row.measures ?? {})) {
        if (v === null) continue;
        let m = c.measures.get(name);
        if (!m) c.measures.set(name, (m = { byCase: new Map(), rows: 0 }));
        m.rows += 1;
        m.byCase.set(row.caseId, (m.byCase.get(row.caseId) ?? 0) + v);
      }
    }
  }
  // A cell another figure already tabulated is the same set of units (canonical key): keep one.
  for (const [key, c] of local) if (!cells.has(key)) cells.set(key, c);
}

export interface Table {
  figure: FigureDef;
  /** A relation between published cells that no query shows as such (protected and audited, never served). */
  derived?: true;
  /** Augmented (rows+1)×(cols+1) canonical keys, margins last; STRUCTURAL for a structural zero. */
  keys: string[][];
}

function layout(figure: FigureDef, dims: readonly string[], categories: Record<string, readonly string[]>): Table {
  const [a, b] = dims;
  const side = (d: string | undefined) => (d ? [...categories[d]!.map((v) => ({ [d]: v })), {}] : [{}]);
  const rows = side(a);
  const cols = b ? side(b) : a ? [{}, {}] : [{}];
  return { figure, keys: rows.map((r) => cols.map((c) => canonicalKey(figure, { ...r, ...c }))) };
}

/**
 * Acknowledgements-overdue counts late + overdue, a subtotal of victims-notified's
 * acknowledgement categories, not one of its cells: the relation "on time + pending + delayed =
 * all" is a table of its own (for the figure's total and each of its dimensions), protected with
 * the others so that no delayed cell is the difference of published notified cells.
 */
function hierarchyTables(categories: Record<string, readonly string[]>): Table[] {
  const notified = FIGURES.find((f) => f.id === 'victims-notified')!;
  const overdue = FIGURES.find((f) => f.population === 'acknowledgement_overdue_or_late');
  if (!overdue) return [];
  const out: Table[] = [];
  const rowsFor = (col: Record<string, string>) => [
    canonicalKey(notified, { ...col, acknowledgement: 'on_time' }),
    canonicalKey(notified, { ...col, acknowledgement: 'pending' }),
    canonicalKey(overdue, col),
    canonicalKey(notified, col),
  ];
  const build = (cols: Array<Record<string, string>>): Table => {
    const columns = cols.map(rowsFor);
    return { figure: overdue, derived: true, keys: columns[0]!.map((_, i) => columns.map((c) => c[i]!)) };
  };
  out.push(build([{}, {}]));
  for (const d of overdue.dims) {
    if (d === 'acknowledgement') continue;
    out.push(build([...categories[d]!.map((v) => ({ [d]: v })), {}]));
  }
  return out;
}

/** True when the sum of all contributions but the two largest is below p % of the largest. */
export function dominated(contributions: Iterable<number>, p: number): boolean {
  const sorted = [...contributions].filter((x) => x > 0).sort((x, y) => y - x);
  if (sorted.length === 0) return false;
  const rest = sorted.slice(2).reduce((s, x) => s + x, 0);
  return rest < (p / 100) * sorted[0]!;
}


/**
 * Complementary suppression over linked tables to a fixed point: a table is protected again
 * whenever one of its cells was suppressed through another table. `valueOf` gives the protected
 * magnitude (counts, or amounts / sums for magnitude tables), `sensitive` the primary cells.
 */
async function protectLinked(
  tables: readonly Table[],
  valueOf: (key: string) => number,
  sensitive: (key: string) => boolean,
  suppressed: Set<string>,
  auditOnly?: 'sensitive',
): Promise<void> {
  const byKey = new Map<string, number[]>();
  tables.forEach((t, i) => t.keys.forEach((r) => r.forEach((key) => key !== STRUCTURAL && (byKey.get(key) ?? byKey.set(key, []).get(key)!).push(i))));
  const dirty = new Set<number>(tables.map((_, i) => i));
  let work = 0;
  while (dirty.size > 0) {
    const i = dirty.values().next().value as number;
    dirty.delete(i);
    const t = tables[i]!;
    if (t.keys.length === 1 && t.keys[0]!.length === 1) {
      const key = t.keys[0]![0]!;
      if (key !== STRUCTURAL && sensitive(key) && valueOf(key) > 0) suppressed.add(key);
      continue;
    }
    const values: Matrix = t.keys.map((r) => r.map((key) => (key === STRUCTURAL ? 0 : valueOf(key))));
    const primary: Mask = t.keys.map((r) => r.map((key) => key !== STRUCTURAL && sensitive(key)));
    const initial: Mask = t.keys.map((r) => r.map((key) => suppressed.has(key)));
    const result = protect(values, primary, initial, auditOnly);
    t.keys.forEach((r, a) =>
      r.forEach((key, b) => {
        if (result[a]![b] && key !== STRUCTURAL && !suppressed.has(key)) {
          suppressed.add(key);
          for (const j of byKey.get(key) ?? []) if (j !== i) dirty.add(j);
        }
      }),
    );
    work += values.length * values[0]!.length;
    // Bounded slices of work: a release never holds the event loop for long.
    if (work > 1_000) {
      work = 0;
      await yieldToLoop();
    }
  }
}

export interface YearInput {
  year: number;
  /** Rows of each figure of the catalogue for the year (already restricted to its population). */
  rows: Record<string, readonly FigureRow[]>;
}

/**
 * Protects every table of every figure of one year for one tier, against what earlier releases
 * of the same year and tier published (`basis`), and returns the published cells and the basis
 * the next release compares with.
 */
/**
 * The linked system of one year: the release's categories, every cell by canonical key with its
 * true units and cases, and every table of every figure (for the protection and its audit).
 */
export async function linkedSystem(input: YearInput, k: number) {
  const categories = releaseCategories(input.rows['victims-notified'] ?? [], k);
  const cells = new Map<string, CellStats>();
  const tables: Table[] = [];
  const figureTotals = new Map<string, number>();
  for (const figure of FIGURES) {
    const rows = foldRows(input.rows[figure.id] ?? [], categories);
    await tabulateInto(cells, figure, rows);
    figureTotals.set(figure.id, new Set(rows.map((r) => r.caseId)).size);
    for (const dims of tableDims(figure.dims)) tables.push(layout(figure, dims, categories));
  }
  tables.push(...hierarchyTables(categories));
  return { categories, cells, tables, figureTotals };
}

/**
 * The attacker's linear program over a whole linked system (src/audit/lp-audit.ts, HiGHS): for
 * each suppressed sensitive cell, the interval the published values leave it. Injected, so the
 * pure protection does not load a solver.
 */
export type LinkedAuditor = (
  published: ProtectedYear,
  tables: readonly Table[],
  truth: (key: string) => number,
  opts: { roundingBase: number; protectionLevel: number; sensitive: (key: string) => boolean },
) => Promise<{ failures: Array<{ key: string }> }>;

export async function protectYear(
  input: YearInput,
  policy: TierPolicy,
  basis: Basis,
  opts: { auditor?: LinkedAuditor | undefined } = {},
): Promise<{ published: ProtectedYear; basis: Basis; auditRounds?: number }> {
  const { k } = policy;
  const { categories, cells, tables, figureTotals } = await linkedSystem(input, k);
  const casesOf = (key: string) => cells.get(key)?.cases.size ?? 0;
  const unitsOf = (key: string) => cells.get(key)?.units ?? 0;
  // Differencing: a count that differs from any count published before for the same cell by
  // fewer than k units would say what the releases between them added or removed.
  const differs = (key: string) => {
    const u = unitsOf(key);
    return (basis[key]?.u ?? []).some((b) => b !== u && Math.abs(b - u) < k);
  };
  const sensitive = (key: string) => {
    const n = casesOf(key);
    return (n > 0 && n < k) || differs(key);
  };
  const suppressed = new Set<string>();
  await protectLinked(tables, unitsOf, sensitive, suppressed);
  // The per-table fixed point does not see every relation of a linked system (a cell may be free
  // in each table and pinned by all of them at once). With an auditor, the release's linear
  // program finds such cells; each gets one more complementary suppression (the smallest published
  // non-zero cell on one of its lines, in any table), the fixed point runs again, and so on.
  let auditRounds = 0;
  if (opts.auditor) {
    const byKey = new Map<string, Table[]>();
    for (const t of tables) for (const r of t.keys) for (const key of r) if (key !== STRUCTURAL) (byKey.get(key) ?? byKey.set(key, []).get(key)!).push(t);
    // More suppression only removes constraints, so an interval never narrows: after the first
    // round only the cells found pinned are audited again.
    let pending: Set<string> | undefined;
    for (let round = 0; round < 50; round++) {
      const view: ProtectedYear = { year: input.year, tier: policy.tier, categories, cells: {}, stats: { tables: 0, cells: 0, suppressed: 0 } };
      // Audited as if published counts were exact: a stronger attacker than rounding allows, and
      // a much smaller program (published cells are constants, not intervals).
      for (const key of byKey.keys()) view.cells[key] = suppressed.has(key) ? { v: null, s: true } : { v: unitsOf(key) };
      const result = await opts.auditor(view, tables.filter((t) => t.figure.source === 'cases'), unitsOf, {
        roundingBase: 1,
        protectionLevel: 1,
        sensitive: (key) => (pending ? pending.has(key) : casesOf(key) > 0 && casesOf(key) < k),
      });
      auditRounds++;
      if (result.failures.length === 0) break;
      pending = new Set(result.failures.map((f) => f.key));
      let added = false;
      for (const f of result.failures) {
        // Breadth-first over hidden cells from the pinned one, line by line through every table:
        // the smallest published non-zero cell at the nearest depth (a pin may come from a
        // relation a few hidden cells away, such as a margin derivable through another table).
        let best: string | undefined;
        const seen = new Set<string>([f.key]);
        let frontier = [f.key];
        while (best === undefined && frontier.length > 0) {
          const next: string[] = [];
          for (const h of frontier) {
            for (const t of byKey.get(h) ?? []) {
              t.keys.forEach((r, i) =>
                r.forEach((key, j) => {
                  if (key !== h) return;
                  for (const c of [...t.keys[i]!, ...t.keys.map((row) => row[j]!)]) {
                    if (c === STRUCTURAL || seen.has(c)) continue;
                    seen.add(c);
                    if (suppressed.has(c)) next.push(c);
                    else if (unitsOf(c) > 0 && (best === undefined || unitsOf(c) < unitsOf(best))) best = c;
                  }
                }),
              );
            }
          }
          frontier = next;
        }
        if (best !== undefined) {
          suppressed.add(best);
          added = true;
        }
      }
      if (!added) break;
      await protectLinked(tables, unitsOf, sensitive, suppressed);
    }
  }

  // Zeros that would describe a small group: every cell of a figure whose population is below
  // k, and every cell of a line (row or column) whose margin is below k, is shown suppressed,
  // zeros included (structural zeros apart). The audit above already assumes the attacker knows
  // every zero, so hiding them only takes information away.
  const hiddenZeros = new Set<string>();
  for (const t of tables) {
    if (t.derived) continue;
    const total = figureTotals.get(t.figure.id)!;
    const small = (n: number) => n > 0 && n < k;
    const rows = t.keys.length;
    const cols = t.keys[0]!.length;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const key = t.keys[i]![j]!;
        if (key === STRUCTURAL || unitsOf(key) > 0) continue;
        const rowMargin = t.keys[i]![cols - 1]!;
        const colMargin = t.keys[rows - 1]![j]!;
        if (small(total) || (rowMargin !== STRUCTURAL && small(casesOf(rowMargin))) || (colMargin !== STRUCTURAL && small(casesOf(colMargin)))) hiddenZeros.add(key);
      }
    }
  }

  // Amounts per currency and means: k contributors, the p % rule, no change since an earlier
  // publication resting on fewer than k new contributors; then complementary suppression of the
  // magnitudes over the same linked tables, starting from every cell whose count is hidden.
  const amountHidden = new Map<string, Set<string>>();
  const meanHidden = new Map<string, Set<string>>();
  const magnitudeTables = new Map<FigureDef['source'], Table[]>();
  for (const t of tables) (magnitudeTables.get(t.figure.source) ?? magnitudeTables.set(t.figure.source, []).get(t.figure.source)!).push(t);
  for (const figure of FIGURES) {
    const ftables = tables.filter((t) => t.figure === figure && !t.derived);
    if (figure.amounts) {
      const currencies = new Set<string>();
      for (const t of ftables) for (const r of t.keys) for (const key of r) for (const cur of cells.get(key)?.amounts.keys() ?? []) currencies.add(cur);
      for (const cur of [...currencies].sort()) {
        const contributions = (key: string) => [...(cells.get(key)?.amounts.get(cur)?.values() ?? [])];
        const value = (key: string) => Number(contributions(key).reduce((s, x) => s + x, 0n) / 100n);
        const sens = (key: string) => {
          const cs = contributions(key);
          if (cs.length === 0) return false;
          if (cs.length < k || dominated(cs.map(Number), policy.p)) return true;
          const before = basis[key]?.a?.[cur];
          const sum = cs.reduce((s, x) => s + x, 0n);
          return before !== undefined && BigInt(before[0]) !== sum && Math.abs(before[1] - cs.length) < k;
        };
        const hidden = new Set<string>([...suppressed, ...hiddenZeros]);
        await protectLinked(ftables, value, sens, hidden, 'sensitive');
        amountHidden.set(`${figure.id}|${cur}`, hidden);
      }
    }
    for (const name of figure.measures ?? []) {
      const contributions = (key: string) => [...(cells.get(key)?.measures.get(name)?.byCase.values() ?? [])];
      const value = (key: string) => Math.round(contributions(key).reduce((s, x) => s + x, 0));
      const sens = (key: string) => {
        const cs = contributions(key);
        if (cs.length === 0) return false;
        if (cs.length < k || dominated(cs, policy.p)) return true;
        const before = basis[key]?.m?.[name];
        const sum = cs.reduce((s, x) => s + x, 0);
        return before !== undefined && before[0] !== sum && Math.abs(before[1] - cs.length) < k;
      };
      const hidden = new Set<string>([...suppressed, ...hiddenZeros]);
      await protectLinked(ftables, value, sens, hidden, 'sensitive');
      meanHidden.set(`${figure.id}|${name}`, hidden);
    }
  }

  const out: Record<string, StoredCell> = {};
  const next: Basis = structuredClone(basis);
  let count = 0;
  for (const t of tables) {
    if (t.derived) continue;
    for (const r of t.keys) {
      for (const key of r) {
        if (key === STRUCTURAL || out[key]) continue;
        count++;
        const hidden = suppressed.has(key) || hiddenZeros.has(key);
        const stats = cells.get(key);
        const cell: StoredCell = hidden ? { v: null, s: true } : { v: roundTo(stats?.units ?? 0, policy.roundingBase) };
        const b: CellBasis = (next[key] ??= {});
        if (!hidden) b.u = [...new Set([...(b.u ?? []), stats?.units ?? 0])].sort((x, y) => x - y);
        if (t.figure.amounts) {
          const a: Record<string, string | null> = {};
          for (const [cur, per] of [...(stats?.amounts ?? new Map<string, Map<string, bigint>>())].sort(([x], [y]) => (x < y ? -1 : 1))) {
            const sum = [...per.values()].reduce((s, x) => s + x, 0n);
            const aHidden = hidden || amountHidden.get(`${t.figure.id}|${cur}`)!.has(key);
            const unit = BigInt(policy.amountRoundingBase) * 100n;
            a[cur] = aHidden ? null : formatCents(((sum + unit / 2n) / unit) * unit);
            if (!aHidden) (b.a ??= {})[cur] = [String(sum), per.size];
          }
          cell.a = a;
        }
        if (t.figure.measures && t.figure.measures.length > 0) {
          const m: Record<string, number | null> = {};
          for (const name of t.figure.measures) {
            const c = stats?.measures.get(name);
            const n = c?.byCase.size ?? 0;
            const sum = [...(c?.byCase.values() ?? [])].reduce((s, x) => s + x, 0);
            const mHidden = hidden || !c || c.rows === 0 || meanHidden.get(`${t.figure.id}|${name}`)!.has(key);
            // Means to whole units only.
            m[name] = mHidden ? null : Math.round(sum / c.rows);
            if (!mHidden) (b.m ??= {})[name] = [sum, n];
          }
          cell.m = m;
        }
        out[key] = cell;
      }
    }
  }
  return {
    published: { year: input.year, tier: policy.tier, categories, cells: out, stats: { tables: tables.length, cells: count, suppressed: Object.values(out).filter((c) => c.s).length } },
    basis: next,
    auditRounds,
  };
}

export const TOTAL = 'total';

export interface PublishedCell {
  /** Dimension values of the cell; `total` for a margin. */
  [dimension: string]: unknown;
  value: number | null;
  suppressed: boolean;
  structuralZero?: true;
  amounts?: Record<string, string | null>;
  measures?: Record<string, number | null>;
}

/** The stored cell of `figure` at `pairs` (a structural zero when impossible). */
export function storedCell(year: ProtectedYear, figure: FigureDef, pairs: Record<string, string>): StoredCell {
  const key = canonicalKey(figure, pairs);
  if (key === STRUCTURAL) return { v: 0, z: true };
  return year.cells[key] ?? { v: null, s: true };
}

/**
 * The cells of the release's table over (filter dimensions ∪ groupBy) that a query asks for: the
 * filters fix their dimensions, each groupBy dimension runs over the release's categories and
 * its total. Nothing is computed here: it is a read of the protected release.
 */
export function sliceTable(year: ProtectedYear, figure: FigureDef, query: { groupBy: readonly string[]; filters: Record<string, string> }): PublishedCell[] {
  let combos: Array<Record<string, string>> = [{}];
  for (const d of query.groupBy) combos = combos.flatMap((c) => [...year.categories[d]!, TOTAL].map((v) => ({ ...c, [d]: v })));
  return combos.map((combo) => {
    const pairs: Record<string, string> = { ...query.filters };
    for (const [d, v] of Object.entries(combo)) if (v !== TOTAL) pairs[d] = v;
    const stored = storedCell(year, figure, pairs);
    const cell: PublishedCell = { ...query.filters, ...combo, value: stored.s ? null : stored.v, suppressed: stored.s === true };
    if (stored.z) cell.structuralZero = true;
    if (figure.amounts) cell.amounts = stored.a ?? {};
    if (figure.measures && figure.measures.length > 0) cell.measures = stored.m ?? Object.fromEntries(figure.measures.map((m) => [m, null]));
    return cell;
  });
}
