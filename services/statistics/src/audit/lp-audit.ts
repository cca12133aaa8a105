import { createRequire } from 'node:module';
import { type ProtectedYear, STRUCTURAL, type Table } from '../domain/disclosure.js';

/**
 * The attacker's linear program (issue 14): every published value of every table of a release
 * (rounded counts as intervals), every additivity relation of every table (each row and column
 * sums to its margin, the tables sharing cells by canonical key), every cell ≥ 0; for each
 * suppressed cell, minimise and maximise it with HiGHS. The feasible interval is what the
 * attacker can learn about the cell from the whole release at once. Used by the tests and the
 * benchmark; `highs` is a development dependency, loaded only when an audit runs.
 */

interface Highs {
  solve(lp: string, options?: Record<string, unknown>): { Status: string; ObjectiveValue: number };
}
let solver: Promise<Highs> | undefined;
function highs(): Promise<Highs> {
  const require = createRequire(import.meta.url);
  solver ??= (require('highs') as () => Promise<Highs>)();
  return solver;
}

export interface AuditedCell {
  key: string;
  truth: number;
  min: number;
  max: number;
}

export interface AuditResult {
  variables: number;
  constraints: number;
  audited: AuditedCell[];
  /** Cells whose interval is narrower than the protection level (or misses the truth). */
  failures: AuditedCell[];
  ms: number;
}

/**
 * Audits the cells of `tables` (one namespace of facts: their shared keys form one system).
 * `truth` gives the true count of a key, `sensitive` which suppressed cells need protection.
 */
export async function auditRelease(
  published: ProtectedYear,
  tables: readonly Table[],
  truth: (key: string) => number,
  opts: { roundingBase: number; protectionLevel: number; sensitive: (key: string) => boolean },
): Promise<AuditResult> {
  const started = performance.now();
  const h = await highs();
  // Published values are constants (exact counts) or intervals (rounded): only hidden cells and
  // rounded ones are variables; relations with no variable left are dropped.
  const exact = opts.roundingBase <= 1;
  const known = (key: string): number | undefined => {
    if (key === STRUCTURAL) return 0;
    const c = published.cells[key];
    return exact && c && !c.s && c.v !== null ? c.v : undefined;
  };
  const index = new Map<string, number>();
  const v = (key: string) => {
    let i = index.get(key);
    if (i === undefined) index.set(key, (i = index.size));
    return `x${i}`;
  };
  const constraints = new Set<string>();
  const relation = (parts: string[], total: string) => {
    if (parts.length === 1 && parts[0] === total) return;
    let rhs = 0;
    const terms: string[] = [];
    for (const key of parts) {
      const c = known(key);
      if (c === undefined) terms.push(`+ ${v(key)}`);
      else rhs -= c;
    }
    const t = known(total);
    if (t === undefined) terms.push(`- ${v(total)}`);
    else rhs += t;
    if (terms.length === 0) return;
    constraints.add(`${terms.join(' ')} = ${rhs}`);
  };
  for (const t of tables) {
    const rows = t.keys.length;
    const cols = t.keys[0]!.length;
    if (rows === 1 && cols === 1) continue;
    const oneDim = cols === 2 && t.keys.every((r) => r[0] === r[1]);
    for (let i = 0; i < rows; i++) if (!oneDim) relation(t.keys[i]!.slice(0, cols - 1), t.keys[i]![cols - 1]!);
    for (let j = 0; j < cols; j++) relation(t.keys.slice(0, rows - 1).map((r) => r[j]!), t.keys[rows - 1]![j]!);
  }
  const hidden: string[] = [];
  for (const t of tables) for (const r of t.keys) for (const key of r) {
    const c = published.cells[key];
    if (key !== STRUCTURAL && (!c || c.s || c.v === null)) {
      v(key);
      if (!hidden.includes(key)) hidden.push(key);
    }
  }
  const bounds: string[] = [];
  for (const [key, i] of index) {
    const c = published.cells[key];
    if (!c || c.s || c.v === null) bounds.push(`x${i} >= 0`);
    else bounds.push(`${Math.max(0, c.v - opts.roundingBase / 2)} <= x${i} <= ${c.v + opts.roundingBase / 2}`);
  }
  const body = `Subject To\n${constraints.size > 0 ? [...constraints].map((c, n) => ` c${n}: ${c}`).join('\n') : ' c0: x0 >= 0'}\nBounds\n${bounds.map((b) => ` ${b}`).join('\n')}\nEnd\n`;
  const audited: AuditedCell[] = [];
  const failures: AuditedCell[] = [];
  for (const key of hidden) {
    if (!opts.sensitive(key)) continue;
    const x = v(key);
    const solve = (sense: 'Minimize' | 'Maximize') => {
      const r = h.solve(`${sense}\n obj: ${x}\n${body}`);
      if (r.Status === 'Unbounded') return sense === 'Maximize' ? Infinity : -Infinity;
      if (r.Status !== 'Optimal') throw new Error(`LP ${sense} ${key}: ${r.Status}`);
      return r.ObjectiveValue;
    };
    // Each LP is short; between them the event loop runs.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const cell = { key, truth: truth(key), min: solve('Minimize'), max: solve('Maximize') };
    audited.push(cell);
    if (cell.max - cell.min < opts.protectionLevel - 1e-9 || cell.truth < cell.min - 1e-6 || cell.truth > cell.max + 1e-6) failures.push(cell);
  }
  return { variables: index.size, constraints: constraints.size, audited, failures, ms: performance.now() - started };
}
