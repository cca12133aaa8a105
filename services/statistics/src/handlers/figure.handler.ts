import { type PublishedCell, protectFigure, sliceTable, tabulate } from '../domain/disclosure.js';
import { type DimensionId, type FigureDef, categoriesOf, figureById } from '../domain/figures.js';
import { ProblemError } from '@trm/platform';
import type { StatisticsContext } from '../context.js';
import { advanceCompleteMark } from '@trm/bus';
import { FACTS_CONSUMER } from '../constants.js';
import { type Watermark, loadFigureRows, readWatermarks } from '../repositories/facts.repository.js';

export interface TableAnswer {
  figure: string;
  title: string;
  unit: FigureDef['unit'];
  year: number;
  groupBy: string[];
  filters: Record<string, string>;
  cells: PublishedCell[];
}

export interface CompleteUpTo {
  /**
   * Per source service: events applied, the last one's position and time, and `completeThrough`,
   * the position in that service's global order up to which every event has been applied (none
   * missing below it, whatever order they arrived in).
   */
  services: Array<Watermark & { completeThrough: { transactionId: string; globalPosition: string } }>;
}

export interface Disclosure {
  k: number;
  roundingBase: number;
}

/**
 * One figure, one year, sliced as asked. The gate (release decider) runs before any cell is
 * computed for the caller; the protection covers every table of the figure at once.
 */
export async function answerFigure(
  ctx: StatisticsContext,
  figureId: string,
  year: number,
  groupBy: string[],
  filters: Record<string, string>,
  opts: { gate: boolean },
): Promise<TableAnswer> {
  const figure = figureById(figureId);
  if (!figure) throw new ProblemError(404, 'unknown-figure', 'No such figure.');
  const now = ctx.clock();
  const rows = await loadFigureRows(ctx.db, ctx.schema, figure, year, now);
  if (opts.gate) {
    const matching = new Set(rows.filter((r) => Object.entries(filters).every(([d, v]) => r.dims[d] === v)).map((r) => r.caseId));
    ctx.release.decide({ type: 'ReleaseFigure', data: { figure, year, groupBy, filters, population: matching.size }, metadata: { now } }, null);
  }
  const categories = categoriesOf(figure.dims as DimensionId[], rows);
  const cells = tabulate(rows, figure.dims);
  const suppressed = protectFigure(cells, figure.dims, categories, { k: ctx.policy.k });
  return {
    figure: figure.id,
    title: figure.title,
    unit: figure.unit,
    year,
    groupBy,
    filters,
    cells: sliceTable(cells, suppressed, { groupBy, filters, categories }, {
      roundingBase: ctx.policy.roundingBase,
      amounts: figure.amounts === true,
      measures: figure.measures ?? [],
    }),
  };
}

export async function completeUpTo(ctx: StatisticsContext): Promise<CompleteUpTo> {
  const marks = await readWatermarks(ctx.db, ctx.schema);
  const services = [];
  for (const w of marks) {
    const completeThrough = await advanceCompleteMark(ctx.db, { schema: ctx.schema, consumer: FACTS_CONSUMER, source: w.service });
    services.push({ ...w, completeThrough });
  }
  return { services };
}

export function completeUpToHeader(c: CompleteUpTo): string {
  if (c.services.length === 0) return 'none';
  return c.services
    .map((w) => `${w.service};complete=${w.completeThrough.transactionId}/${w.completeThrough.globalPosition};events=${w.eventsApplied};position=${w.lastGlobalPosition};recordedAt=${w.lastRecordedAt}`)
    .join(', ');
}

/** The tables ANITP's annual report needs, each a slice of one figure. */
export const ANNUAL_TABLES = [
  { id: 'registered-victims-by-sex-and-age', title: 'Registered victims by sex and age group', figure: 'victims-notified', groupBy: ['sex', 'ageBand'] },
  { id: 'registered-victims-by-citizenship', title: 'Registered victims by citizenship and sex', figure: 'victims-notified', groupBy: ['citizenship', 'sex'] },
  { id: 'registered-victims-by-form', title: 'Registered victims by form of exploitation and sex', figure: 'victims-notified', groupBy: ['form', 'sex'] },
  { id: 'returns-and-late-notifications', title: 'Returns and late notifications', figure: 'returns', groupBy: ['lateNotification', 'returnStatus'] },
  { id: 'assistance-costs-by-service-and-region', title: 'Assistance costs by service and region', figure: 'assistance-costs', groupBy: ['service', 'regionalCentre'] },
  { id: 'proceedings-outcomes', title: 'Criminal proceedings by outcome', figure: 'proceedings', groupBy: ['outcome'] },
  { id: 'compensation', title: 'Compensation awarded and paid', figure: 'compensation', groupBy: ['compensationDecision', 'compensationPaid'] },
] as const;

export interface AnnualTable extends TableAnswer {
  table: string;
  tableTitle: string;
  /** Shares derived only from published cells (null when one of them is suppressed). */
  shares?: Record<string, number | null>;
}

const valueOf = (cells: PublishedCell[], match: Record<string, string>): number | null =>
  cells.find((c) => Object.entries(match).every(([d, v]) => c[d] === v))?.value ?? null;

const share = (part: number | null, whole: number | null): number | null =>
  part === null || whole === null || whole === 0 ? null : Math.round((part / whole) * 1000) / 10;

/**
 * Annual tables are fixed slices without filters, so no gate: a year with fewer than k cases
 * shows its zeros and hides every other cell.
 */
export async function answerAnnualTable(ctx: StatisticsContext, tableId: string, year: number): Promise<AnnualTable> {
  const def = ANNUAL_TABLES.find((t) => t.id === tableId);
  if (!def) throw new ProblemError(404, 'unknown-annual-table', 'No such annual table.');
  const answer = await answerFigure(ctx, def.figure, year, [...def.groupBy], {}, { gate: false });
  const table: AnnualTable = { table: def.id, tableTitle: def.title, ...answer };
  if (def.id === 'proceedings-outcomes') {
    const suspended = valueOf(answer.cells, { outcome: 'conviction_suspended' });
    const custodial = valueOf(answer.cells, { outcome: 'conviction_custodial' });
    const convictions = suspended === null || custodial === null ? null : suspended + custodial;
    table.shares = {
      suspendedShareOfConvictionsPercent: share(suspended, convictions),
      statuteOfLimitationsShareOfCasesPercent: share(valueOf(answer.cells, { outcome: 'statute_of_limitations_expired' }), valueOf(answer.cells, { outcome: 'total' })),
    };
  }
  return table;
}
