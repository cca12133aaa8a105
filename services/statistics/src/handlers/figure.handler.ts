import { ProblemError } from '@trm/platform';
import { advanceCompleteMark } from '@trm/bus';
import { type PublishedCell, type ProtectedYear, type TierPolicy, sliceTable, storedCell } from '../domain/disclosure.js';
import { type FigureDef, figureById } from '../domain/figures.js';
import type { StatisticsContext, Tier } from '../context.js';
import { FACTS_CONSUMER } from '../constants.js';
import { readWatermarks } from '../repositories/facts.repository.js';
import { type Release, type ReleaseMeta, type ReleaseWatermark, createRelease, latestReleaseMeta, loadReleaseYears } from '../repositories/releases.repository.js';

export interface ReleaseRef {
  releaseId: string;
  createdAt: string;
  kind: ReleaseMeta['kind'];
}

export interface TableAnswer {
  figure: string;
  title: string;
  unit: FigureDef['unit'];
  year: number;
  groupBy: string[];
  filters: Record<string, string>;
  cells: PublishedCell[];
}

/** Per source service, the honest watermark of the release: every event at or before it is in. */
export interface CompleteUpTo {
  services: ReleaseWatermark[];
}

/** The honest "complete up to" now, per source service (the next release's watermark). */
export async function currentWatermark(ctx: StatisticsContext): Promise<ReleaseWatermark[]> {
  const marks = await readWatermarks(ctx.db, ctx.schema);
  const out: ReleaseWatermark[] = [];
  for (const w of marks) {
    const completeThrough = await advanceCompleteMark(ctx.db, { schema: ctx.schema, consumer: FACTS_CONSUMER, source: w.service });
    out.push({ service: w.service, completeThrough });
  }
  return out;
}

/** The release's watermark as a header: `referrals;complete=<txid>/<position>, …` (no counts of events applied). */
export function completeUpToHeader(c: CompleteUpTo): string {
  if (c.services.length === 0) return 'none';
  return c.services.map((w) => `${w.service};complete=${w.completeThrough.transactionId}/${w.completeThrough.globalPosition}`).join(', ');
}

/** Makes a release now (scheduled or on demand) and makes it the one every answer comes from. */
export async function makeRelease(ctx: StatisticsContext, kind: ReleaseMeta['kind'], requestedBy: string | null) {
  const watermark = await currentWatermark(ctx);
  const result = await createRelease(ctx.db, ctx.schema, {
    kind,
    requestedBy,
    now: ctx.clock(),
    tiers: [ctx.policy.tiers.public, ctx.policy.tiers.internal],
    watermark,
    auditor: ctx.auditor,
  });
  ctx.cache.release = undefined;
  return result;
}

/**
 * The latest release, read once per process and kept (one release at a time: the cache is
 * bounded). A request costs one indexed read of the latest release's id, then slices.
 */
export async function currentRelease(ctx: StatisticsContext): Promise<Release> {
  const meta = await latestReleaseMeta(ctx.db, ctx.schema);
  if (!meta) throw new ProblemError(503, 'no-release-yet', 'No statistics release has been made yet.');
  if (ctx.cache.release?.releaseId !== meta.releaseId) {
    const years = await loadReleaseYears(ctx.db, ctx.schema, meta.releaseId);
    ctx.cache.release = { ...meta, years };
  }
  return ctx.cache.release;
}

export const releaseRef = (r: Release): ReleaseRef => ({ releaseId: r.releaseId, createdAt: r.createdAt, kind: r.kind });

export function disclosureOf(policy: TierPolicy) {
  return { tier: policy.tier, k: policy.k, roundingBase: policy.roundingBase, amountRoundingBase: policy.amountRoundingBase, dominancePercent: policy.p };
}

function yearOf(release: Release, tier: Tier, year: number): ProtectedYear {
  const y = release.years.get(`${tier}:${year}`);
  if (!y) throw new ProblemError(404, 'year-not-released', 'The release holds no facts of that year.');
  return y;
}

/**
 * One figure, one year, sliced as asked, read from the release. The gate (release decider) runs
 * first: the query stays inside the release's linked tables, and its filters select a published
 * population of at least k (a filter on a category the release folded into `other`, on a hidden
 * margin or on nobody is refused alike).
 */
export function answerFigure(
  ctx: StatisticsContext,
  release: Release,
  tier: Tier,
  figureId: string,
  year: number,
  groupBy: string[],
  filters: Record<string, string>,
): TableAnswer {
  const figure = figureById(figureId);
  if (!figure) throw new ProblemError(404, 'unknown-figure', 'No such figure.');
  const policy = ctx.policy.tiers[tier];
  const decide = (population: number) =>
    ctx.release.decide({ type: 'ReleaseFigure', data: { figure, year, groupBy, filters, population }, metadata: { now: ctx.clock() } }, null);
  // Structure first (every problem at once), whatever the year holds.
  decide(Number.MAX_SAFE_INTEGER);
  const y = yearOf(release, tier, year);
  if (Object.keys(filters).length > 0) {
    const known = Object.entries(filters).every(([d, v]) => y.categories[d]?.includes(v));
    const margin = known ? storedCell(y, figure, filters) : { v: 0, s: true as const };
    decide(margin.s || margin.z ? 0 : (margin.v ?? 0));
    // Rounding may lift a count of k − 1 … to k; the published value is what the caller sees,
    // and a margin below k is suppressed anyway.
    if (margin.v !== null && margin.v < policy.k) decide(0);
  }
  return { figure: figure.id, title: figure.title, unit: figure.unit, year, groupBy, filters, cells: sliceTable(y, figure, { groupBy, filters }) };
}

/** The tables ANITP's annual report needs, each a slice of one figure's linked tables. */
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
 * Annual tables are fixed slices of the release's linked tables: a year whose population is
 * below k shows every cell suppressed, zeros included, and a line whose margin is below k is
 * suppressed whole.
 */
export function answerAnnualTable(ctx: StatisticsContext, release: Release, tier: Tier, tableId: string, year: number): AnnualTable {
  const def = ANNUAL_TABLES.find((t) => t.id === tableId);
  if (!def) throw new ProblemError(404, 'unknown-annual-table', 'No such annual table.');
  const answer = answerFigure(ctx, release, tier, def.figure, year, [...def.groupBy], {});
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
