import type { PublishedCell } from '../domain/disclosure.js';

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function field(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvLine = (fields: unknown[]): string => `${fields.map(field).join(',')}\r\n`;

/** Extra columns a figure's cells carry: one per currency, one per mean. */
function extraColumns(cells: PublishedCell[]): { currencies: string[]; measures: string[] } {
  const currencies = new Set<string>();
  const measures = new Set<string>();
  for (const c of cells) {
    for (const cur of Object.keys(c.amounts ?? {})) currencies.add(cur);
    for (const m of Object.keys(c.measures ?? {})) measures.add(m);
  }
  return { currencies: [...currencies].sort(), measures: [...measures] };
}

export function cellsToCsv(dimensions: string[], cells: PublishedCell[], prefix: { header: string[]; values: unknown[] } = { header: [], values: [] }): { header: string[]; lines: string[] } {
  const { currencies, measures } = extraColumns(cells);
  const header = [...prefix.header, ...dimensions, 'value', 'suppressed', ...currencies.map((c) => `amount_${c}`), ...measures.map((m) => `mean_${m}`)];
  const lines = cells.map((c) =>
    csvLine([
      ...prefix.values,
      ...dimensions.map((d) => c[d]),
      c.value,
      c.suppressed,
      ...currencies.map((cur) => c.amounts?.[cur] ?? (c.suppressed ? '' : '0.00')),
      ...measures.map((m) => c.measures?.[m]),
    ]),
  );
  return { header, lines };
}
