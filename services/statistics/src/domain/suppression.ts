/**
 * Cell suppression for one two-dimensional table with its margins (a one-dimensional table is a
 * table with a single column, a count is 1×1). The table is given augmented: (r+1)×(c+1) values,
 * the last row and the last column being the margins, the corner the grand total.
 *
 * Zero cells are published (a zero names nobody), so an attacker knows every suppressed cell is at
 * least 1; the audit assumes that knowledge.
 */

export type Matrix = number[][];
export type Mask = boolean[][];

export function augment(interior: Matrix): Matrix {
  const rows = interior.length;
  const cols = interior[0]?.length ?? 0;
  const out: Matrix = interior.map((row) => [...row, row.reduce((a, b) => a + b, 0)]);
  const totals: number[] = [];
  for (let j = 0; j <= cols; j++) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += out[i]![j]!;
    totals.push(s);
  }
  out.push(totals);
  return out;
}

const at = (m: Matrix, i: number, j: number): number => m[i]![j]!;
const copyMask = (m: Mask): Mask => m.map((r) => [...r]);
export const emptyMask = (rows: number, cols: number): Mask => Array.from({ length: rows }, () => new Array<boolean>(cols).fill(false));

/**
 * True when the published cells and margins, plus "every suppressed cell is ≥ 1", leave more than
 * one possible value for cell (i, j).
 *
 * Why a cycle search is exact: with margins negated, every line of the table sums to zero, so two
 * tables agreeing on the published cells differ by an integer array with zero line sums on the
 * suppressed cells. Such an array splits into alternating cycles of the row/column graph that move
 * each cell in the same direction as the whole difference, so one cycle alone is a feasible
 * change. The cell is pinned exactly when no alternating cycle through it can move (+1/−1) without
 * taking a suppressed cell below 1.
 */
export function isUnpinned(values: Matrix, suppressed: Mask, i: number, j: number): boolean {
  const rows = values.length;
  const cols = values[0]!.length;
  const mr = rows - 1;
  const mc = cols - 1;
  // Directed arcs: row→col carries +1 in the sign-flipped table, col→row carries −1.
  const rowToCol: Array<Array<number>> = Array.from({ length: rows }, () => []);
  const colToRow: Array<Array<number>> = Array.from({ length: cols }, () => []);
  const canMove = (a: number, b: number, ySign: 1 | -1): boolean => {
    const marginSign = (a === mr) !== (b === mc) ? -1 : 1;
    const xChange = marginSign * ySign;
    return xChange > 0 || at(values, a, b) >= 2;
  };
  for (let a = 0; a < rows; a++) {
    for (let b = 0; b < cols; b++) {
      if (!suppressed[a]![b] || (a === i && b === j)) continue;
      if (canMove(a, b, 1)) rowToCol[a]!.push(b);
      if (canMove(a, b, -1)) colToRow[b]!.push(a);
    }
  }
  const reachable = (start: { row?: number; col?: number }, target: { row?: number; col?: number }): boolean => {
    const seenRows = new Array<boolean>(rows).fill(false);
    const seenCols = new Array<boolean>(cols).fill(false);
    const queue: Array<{ row?: number; col?: number }> = [start];
    if (start.row !== undefined) seenRows[start.row] = true;
    if (start.col !== undefined) seenCols[start.col] = true;
    while (queue.length > 0) {
      const node = queue.shift()!;
      if (node.row !== undefined && node.row === target.row) return true;
      if (node.col !== undefined && node.col === target.col) return true;
      if (node.row !== undefined) {
        for (const b of rowToCol[node.row]!) if (!seenCols[b]) { seenCols[b] = true; queue.push({ col: b }); }
      } else if (node.col !== undefined) {
        for (const a of colToRow[node.col]!) if (!seenRows[a]) { seenRows[a] = true; queue.push({ row: a }); }
      }
    }
    return false;
  };
  if (canMove(i, j, 1) && reachable({ col: j }, { row: i })) return true;
  if (canMove(i, j, -1) && reachable({ row: i }, { col: j })) return true;
  return false;
}

/** Suppressed cells an attacker can recover exactly from this table alone (among `audit`, when given). */
export function pinnedCells(values: Matrix, suppressed: Mask, audit?: Mask): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < values.length; i++) {
    for (let j = 0; j < values[0]!.length; j++) {
      if (suppressed[i]![j] && (!audit || audit[i]![j]) && !isUnpinned(values, suppressed, i, j)) out.push([i, j]);
    }
  }
  return out;
}

function lines(rows: number, cols: number): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [];
  for (let i = 0; i < rows; i++) out.push(Array.from({ length: cols }, (_, j): [number, number] => [i, j]));
  for (let j = 0; j < cols; j++) out.push(Array.from({ length: rows }, (_, i): [number, number] => [i, j]));
  return out;
}

/**
 * The smallest non-zero published cell among `cells`; interior before margins on a tie, so
 * margins (shared with coarser tables) are suppressed only when nothing else will do.
 */
function cheapest(values: Matrix, s: Mask, cells: Array<[number, number]>): [number, number] | undefined {
  const mr = values.length - 1;
  const mc = values[0]!.length - 1;
  let best: [number, number] | undefined;
  let bestKey = Infinity;
  for (const [a, b] of cells) {
    const v = at(values, a, b);
    if (s[a]![b] || v <= 0) continue;
    const key = v * 4 + (a === mr ? 1 : 0) + (b === mc ? 2 : 0);
    if (key < bestKey) {
      bestKey = key;
      best = [a, b];
    }
  }
  return best;
}

/**
 * Primary suppression of every sensitive cell, then complementary suppression to a fixed point:
 * (1) no line (row or column, margins included) holds exactly one suppressed cell; (2) no
 * suppressed cell is pinned (see isUnpinned). Only ever adds suppressions, so it terminates; in
 * the worst case every non-zero cell is suppressed, which pins nothing.
 */
export function protect(values: Matrix, sensitive: Mask, initial?: Mask, auditOnly?: 'sensitive'): Mask {
  const rows = values.length;
  const cols = values[0]!.length;
  const s = initial ? copyMask(initial) : emptyMask(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) if (sensitive[i]![j] && at(values, i, j) > 0) s[i]![j] = true;
  // Which suppressed cells must not be recoverable: every one (counts), or only the sensitive ones
  // (magnitudes, whose cells may be hidden only because their count is).
  const audit: Mask | undefined = auditOnly ? sensitive.map((r, i) => r.map((x, j) => x && at(values, i, j) > 0)) : undefined;
  const all = lines(rows, cols);
  for (;;) {
    let changed = false;
    for (const line of all) {
      const hidden = line.filter(([a, b]) => s[a]![b]);
      if (hidden.length !== 1 || (audit && !audit[hidden[0]![0]]![hidden[0]![1]])) continue;
      const pick = cheapest(values, s, line);
      if (pick) {
        s[pick[0]]![pick[1]] = true;
        changed = true;
      }
    }
    if (changed) continue;
    const pinned = pinnedCells(values, s, audit)[0];
    if (!pinned) return s;
    const [pi, pj] = pinned;
    const pick = cheapest(values, s, [...all[pi]!, ...all[rows + pj]!]);
    if (pick) {
      s[pick[0]]![pick[1]] = true;
      continue;
    }
    let grew = false;
    for (let a = 0; a < rows; a++) {
      for (let b = 0; b < cols; b++) {
        if (at(values, a, b) > 0 && !s[a]![b]) {
          s[a]![b] = true;
          grew = true;
        }
      }
    }
    // A lone count (1×1) has no line to hide in: the caller refuses populations below k instead.
    if (!grew) return s;
  }
}

/** Conventional rounding to the nearest multiple of `base` (half up); base 1 publishes exact counts. */
export function roundTo(value: number, base: number): number {
  if (base <= 1) return value;
  return Math.floor(value / base + 0.5) * base;
}
