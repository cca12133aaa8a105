import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Mask, type Matrix, augment, isUnpinned, protect, roundTo } from './suppression.js';

/**
 * An attacker written independently of the cycle argument in suppression.ts: it enumerates every
 * table of non-negative integers that agrees with what was published (and with "a suppressed cell
 * is ≥ 1", since zeros are published) and reports the suppressed cells that take one value only.
 * Margins are determined by the interior, so only suppressed interior cells are enumerated.
 */
function recoverable(values: Matrix, s: Mask): Array<[number, number]> {
  const mr = values.length - 1;
  const mc = values[0]!.length - 1;
  const grand = values[mr]![mc]!;
  const bound = grand + 2;
  const unknown: Array<[number, number]> = [];
  for (let i = 0; i < mr; i++) for (let j = 0; j < mc; j++) if (s[i]![j]) unknown.push([i, j]);
  const seen = new Map<string, Set<number>>();
  const note = (i: number, j: number, v: number) => {
    const key = `${i},${j}`;
    if (!seen.has(key)) seen.set(key, new Set());
    seen.get(key)!.add(v);
  };
  const x = values.map((r) => [...r]);
  let budget = 5_000_000;
  const consistent = (): boolean => {
    const rowSums = x.slice(0, mr).map((r) => r.slice(0, mc).reduce((a, b) => a + b, 0));
    const colSums = Array.from({ length: mc }, (_, j) => x.slice(0, mr).reduce((a, r) => a + r[j]!, 0));
    const total = rowSums.reduce((a, b) => a + b, 0);
    const check = (i: number, j: number, v: number) => (s[i]![j] ? v >= 1 : v === values[i]![j]);
    for (let i = 0; i < mr; i++) if (!check(i, mc, rowSums[i]!) || (s[i]![mc] && rowSums[i]! < 1)) return false;
    for (let j = 0; j < mc; j++) if (!check(mr, j, colSums[j]!) || (s[mr]![j] && colSums[j]! < 1)) return false;
    if (!check(mr, mc, total) || (s[mr]![mc] && total < 1)) return false;
    for (let i = 0; i < mr; i++) note(i, mc, rowSums[i]!);
    for (let j = 0; j < mc; j++) note(mr, j, colSums[j]!);
    note(mr, mc, total);
    return true;
  };
  const dfs = (n: number): void => {
    if (--budget < 0) throw new Error('attacker budget exceeded');
    if (n === unknown.length) {
      if (consistent()) for (const [i, j] of unknown) note(i, j, x[i]![j]!);
      // Once every suppressed cell has shown two values nothing more can be recovered.
      if (suppressedCells.every(([i, j]) => (seen.get(`${i},${j}`)?.size ?? 0) >= 2)) throw DONE;
      return;
    }
    const [i, j] = unknown[n]!;
    // True value first, then outwards: tables that differ a little are found first, so the
    // search usually stops early (every cell seen with two values).
    const t = values[i]![j]!;
    const order: number[] = [t];
    for (let d = 1; t + d <= bound || t - d >= 1; d++) {
      if (t + d <= bound) order.push(t + d);
      if (t - d >= 1) order.push(t - d);
    }
    for (const v of order) {
      x[i]![j] = v;
      // Prune on published margins: partial sums may not exceed them.
      if (!s[i]![mc] && x[i]!.slice(0, mc).reduce((a, b, jj) => a + (s[i]![jj] && unknownIndex(i, jj) > n ? 0 : b), 0) > values[i]![mc]!) continue;
      if (!s[mr]![j] && x.slice(0, mr).reduce((a, r, ii) => a + (s[ii]![j] && unknownIndex(ii, j) > n ? 0 : r[j]!), 0) > values[mr]![j]!) continue;
      dfs(n + 1);
    }
    x[i]![j] = values[i]![j]!;
  };
  const index = new Map(unknown.map(([i, j], n) => [`${i},${j}`, n]));
  const unknownIndex = (i: number, j: number) => index.get(`${i},${j}`) ?? -1;
  const DONE = new Error('done');
  const suppressedCells: Array<[number, number]> = [];
  for (let i = 0; i <= mr; i++) for (let j = 0; j <= mc; j++) if (s[i]![j]) suppressedCells.push([i, j]);
  try {
    dfs(0);
  } catch (err) {
    if (err !== DONE) throw err;
  }
  const out: Array<[number, number]> = [];
  for (let i = 0; i <= mr; i++) for (let j = 0; j <= mc; j++) if (s[i]![j] && (seen.get(`${i},${j}`)?.size ?? 0) <= 1) out.push([i, j]);
  return out;
}

const sensitiveOf = (values: Matrix, k: number): Mask => values.map((r) => r.map((v) => v > 0 && v < k));

const table = fc
  .record({ rows: fc.integer({ min: 1, max: 3 }), cols: fc.integer({ min: 1, max: 2 }) })
  .chain(({ rows, cols }) =>
    fc.array(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 5, max: 9 })), { minLength: cols, maxLength: cols }), {
      minLength: rows,
      maxLength: rows,
    }),
  );

describe('complementary suppression', () => {
  it('no suppressed cell of a table can be recovered from any combination of its published cells (k = 5)', () => {
    fc.assert(
      fc.property(table, (interior) => {
        const values = augment(interior);
        const s = protect(values, sensitiveOf(values, 5));
        // Every sensitive non-zero cell is hidden…
        values.forEach((r, i) => r.forEach((v, j) => v > 0 && v < 5 && expect(s[i]![j]).toBe(true)));
        // …zeros are published…
        values.forEach((r, i) => r.forEach((v, j) => v === 0 && expect(s[i]![j]).toBe(false)));
        // …and the attacker recovers nothing, whatever it combines.
        const anySuppressed = s.some((r) => r.some(Boolean));
        if (anySuppressed && values[values.length - 1]!.at(-1)! >= 1) expect(recoverable(values, s)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('the attacker does recover a cell when only primary suppression is applied (the test has teeth)', () => {
    const values = augment([
      [12, 3],
      [20, 15],
    ]);
    const primaryOnly = sensitiveOf(values, 10);
    expect(recoverable(values, primaryOnly)).toEqual([[0, 1]]);
    const s = protect(values, primaryOnly);
    expect(recoverable(values, s)).toEqual([]);
  });

  it('knows that suppressed cells are at least 1: two suppressed 1s in a line summing to 2 would be pinned', () => {
    // Row 0: 1 + 1 = 2 with the margin published would reveal both cells.
    const values = augment([
      [1, 1, 0],
      [11, 12, 13],
    ]);
    const s = protect(values, sensitiveOf(values, 10));
    expect(recoverable(values, s)).toEqual([]);
    expect(s[0]![3]).toBe(true);
    const naive = sensitiveOf(values, 10);
    expect(isUnpinned(values, naive, 0, 0)).toBe(false);
  });

  it('a one-dimensional table (single column) hides the complement too', () => {
    const values = augment([[11], [1], [30]]);
    const s = protect(values, sensitiveOf(values, 10));
    expect(s[1]![0]).toBe(true);
    expect(s[0]![0]).toBe(true);
    expect(s[3]![0]).toBe(false);
    expect(recoverable(values, s)).toEqual([]);
  });
});

describe('rounding', () => {
  it('rounds to the policy base, half up, and base 1 keeps exact counts', () => {
    expect([0, 2, 3, 7, 8, 12, 13].map((v) => roundTo(v, 5))).toEqual([0, 0, 5, 5, 10, 10, 15]);
    expect(roundTo(13, 1)).toBe(13);
  });
});
