import { type Mask, type Matrix, protect, roundTo } from './suppression.js';

/**
 * Disclosure control for one figure and one year: every table a query may ask for (each
 * dimension alone, each pair) is protected together, so a cell shared by several tables (the
 * row "female" of sex alone, the margin "female" of sex × age band…) has one value and one status
 * everywhere. Queries are slices of these tables, never anything else, so overlapping queries
 * cannot be differenced into a cell the tables hide.
 */

export interface FigureRow {
  caseId: string;
  dims: Record<string, string>;
  amount?: { value: string; currency: string } | undefined;
  measures?: Record<string, number | null> | undefined;
}

export interface CellStats {
  units: number;
  cases: Set<string>;
  /** Cents per currency, as bigint: sums of money never go through floats. */
  amounts: Map<string, bigint>;
  measures: Map<string, { sum: number; n: number }>;
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
export const formatCents = (c: bigint): string => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;

/** Every cell of every table of at most two dimensions, in one pass over the rows. */
export function tabulate(rows: readonly FigureRow[], dims: readonly string[]): Map<string, CellStats> {
  const cells = new Map<string, CellStats>();
  const add = (key: string, row: FigureRow) => {
    let c = cells.get(key);
    if (!c) {
      c = { units: 0, cases: new Set(), amounts: new Map(), measures: new Map() };
      cells.set(key, c);
    }
    c.units += 1;
    c.cases.add(row.caseId);
    if (row.amount) c.amounts.set(row.amount.currency, (c.amounts.get(row.amount.currency) ?? 0n) + cents(row.amount.value));
    for (const [name, v] of Object.entries(row.measures ?? {})) {
      if (v === null) continue;
      const m = c.measures.get(name) ?? { sum: 0, n: 0 };
      m.sum += v;
      m.n += 1;
      c.measures.set(name, m);
    }
  };
  for (const row of rows) {
    add('', row);
    for (let a = 0; a < dims.length; a++) {
      const da = dims[a]!;
      add(cellKey({ [da]: row.dims[da]! }), row);
      for (let b = a + 1; b < dims.length; b++) {
        const db = dims[b]!;
        add(cellKey({ [da]: row.dims[da]!, [db]: row.dims[db]! }), row);
      }
    }
  }
  return cells;
}

interface TableLayout {
  keys: string[][];
}

/** Augmented layout of the table over `dims` (0, 1 or 2): rows × cols of cell keys with margins. */
function layout(dims: readonly string[], categories: Record<string, readonly string[]>): TableLayout {
  const [a, b] = dims;
  const rowsOf = (d: string | undefined) => (d ? [...categories[d]!.map((v) => ({ [d]: v })), {}] : [{}]);
  const rows = rowsOf(a);
  // A one-dimensional table is a single column whose margin column repeats it.
  const cols = b ? rowsOf(b) : a ? [{}, {}] : [{}];
  return { keys: rows.map((r) => cols.map((c) => cellKey({ ...r, ...c }))) };
}

export interface ProtectionPolicy {
  k: number;
}

/**
 * Primary suppression of cells with 1 to k−1 cases, then complementary suppression of each table
 * (see suppression.ts), repeated over all tables until no table adds a suppression: a cell
 * suppressed in one table is suppressed in every table that shows it.
 */
export function protectFigure(
  cells: Map<string, CellStats>,
  dims: readonly string[],
  categories: Record<string, readonly string[]>,
  policy: ProtectionPolicy,
): Set<string> {
  const tables: TableLayout[] = [layout([], categories)];
  for (let a = 0; a < dims.length; a++) {
    tables.push(layout([dims[a]!], categories));
    for (let b = a + 1; b < dims.length; b++) tables.push(layout([dims[a]!, dims[b]!], categories));
  }
  const suppressed = new Set<string>();
  const unitsOf = (key: string) => cells.get(key)?.units ?? 0;
  const casesOf = (key: string) => cells.get(key)?.cases.size ?? 0;
  for (;;) {
    let changed = false;
    for (const t of tables) {
      if (t.keys.length === 1 && t.keys[0]!.length === 1) continue;
      const values: Matrix = t.keys.map((r) => r.map(unitsOf));
      const sensitive: Mask = t.keys.map((r) => r.map((key) => casesOf(key) > 0 && casesOf(key) < policy.k));
      const initial: Mask = t.keys.map((r) => r.map((key) => suppressed.has(key)));
      const result = protect(values, sensitive, initial);
      t.keys.forEach((r, i) =>
        r.forEach((key, j) => {
          if (result[i]![j] && !suppressed.has(key)) {
            suppressed.add(key);
            changed = true;
          }
        }),
      );
    }
    if (!changed) break;
  }
  if (casesOf('') > 0 && casesOf('') < policy.k) suppressed.add('');
  return suppressed;
}

export const TOTAL = 'total';

export interface PublishedCell {
  /** Dimension values of the cell; `total` for a margin. */
  [dimension: string]: unknown;
  value: number | null;
  suppressed: boolean;
  amounts?: Record<string, string | null>;
  measures?: Record<string, number | null>;
}

/**
 * The cells of the table over (filter dimensions ∪ groupBy) that a query asks for: the filters
 * fix their dimensions, each groupBy dimension runs over its categories and its total. Counts
 * are rounded to `roundingBase`; money and means are shown only where the count is.
 */
export function sliceTable(
  cells: Map<string, CellStats>,
  suppressed: Set<string>,
  query: { groupBy: readonly string[]; filters: Record<string, string>; categories: Record<string, readonly string[]> },
  opts: { roundingBase: number; amounts: boolean; measures: readonly string[] },
): PublishedCell[] {
  let combos: Array<Record<string, string>> = [{}];
  for (const d of query.groupBy) {
    combos = combos.flatMap((c) => [...query.categories[d]!, TOTAL].map((v) => ({ ...c, [d]: v })));
  }
  return combos.map((combo) => {
    const pairs: Record<string, string> = { ...query.filters };
    for (const [d, v] of Object.entries(combo)) if (v !== TOTAL) pairs[d] = v;
    const key = cellKey(pairs);
    const stats = cells.get(key);
    const hidden = suppressed.has(key);
    const cell: PublishedCell = {
      ...query.filters,
      ...combo,
      value: hidden ? null : roundTo(stats?.units ?? 0, opts.roundingBase),
      suppressed: hidden,
    };
    if (opts.amounts) {
      const out: Record<string, string | null> = {};
      for (const [currency, c] of [...(stats?.amounts ?? new Map<string, bigint>())].sort()) out[currency] = hidden ? null : formatCents(c);
      cell.amounts = out;
    }
    if (opts.measures.length > 0) {
      const out: Record<string, number | null> = {};
      for (const m of opts.measures) {
        const s = stats?.measures.get(m);
        out[m] = hidden || !s || s.n === 0 ? null : Math.round((s.sum / s.n) * 10) / 10;
      }
      cell.measures = out;
    }
    return cell;
  });
}
