import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DomainError, routeAccess } from '@trm/contracts';
import { ProblemError } from '@trm/platform';
import type { StatisticsContext, Tier } from '../context.js';
import { DIMENSIONS, DIMENSION_IDS, FIGURES, OPEN_DIMENSIONS } from '../domain/figures.js';
import {
  ANNUAL_TABLES,
  type AnnualTable,
  answerAnnualTable,
  answerFigure,
  completeUpToHeader,
  currentRelease,
  disclosureOf,
  makeRelease,
  releaseRef,
} from '../handlers/figure.handler.js';
import type { Release } from '../repositories/releases.repository.js';
import { onDemandReleasesSince } from '../repositories/releases.repository.js';
import { cellsToCsv, csvLine } from './csv.js';

const TAG = ['statistics'];
const ACCESS = { access: { roles: ['statistics_reader', 'case_officer'] as const } };
const READER_ORG_TYPES = new Set(['statistics_consumer', 'national_contact_point']);

const Year = z.coerce.number().int().min(2000).max(2100);
const Format = z.enum(['json', 'csv']).optional().describe('Overrides the Accept header.');

const dimensionFilters = Object.fromEntries(DIMENSION_IDS.map((d) => [d, z.string().min(1).max(64).optional().describe(`Filter: ${DIMENSIONS[d].title}`)]));
const FigureQuery = z.strictObject({
  year: Year,
  groupBy: z
    .string()
    .regex(/^[A-Za-z]+(,[A-Za-z]+)*$/)
    .optional()
    .describe('Comma-separated dimensions (with the filters, at most two in all).'),
  format: Format,
  ...dimensionFilters,
});
const FigureParams = z.strictObject({ figure: z.string().regex(/^[a-z-]{1,64}$/) });
const AnnualParams = z.strictObject({ year: Year });
const AnnualTableParams = z.strictObject({ year: Year, table: z.string().regex(/^[a-z-]{1,64}$/) });
const FormatQuery = z.strictObject({ format: Format });

/** Aggregates only, and only for analysts and national contact points (DOMAIN.md). */
function checkReader(request: FastifyRequest): void {
  if (!READER_ORG_TYPES.has(request.principal.orgType)) {
    throw new ProblemError(403, 'statistics-not-for-this-organisation', 'Only statistics consumers and national contact points read statistics.');
  }
}

/**
 * The internal tier is for the analysts of the home country's central contact point (role
 * statistics_reader); everyone else reads the public tier.
 */
function tierOf(request: FastifyRequest, ctx: StatisticsContext): Tier {
  const p = request.principal;
  return p.orgType === 'national_contact_point' && p.parentOrgId === null && p.country === ctx.policy.homeCountry && p.roles.includes('statistics_reader')
    ? 'internal'
    : 'public';
}

/** What every answer says about where it comes from: the release (id, time, watermark) and the tier. */
function provenance(reply: FastifyReply, release: Release, tier: Tier, ctx: StatisticsContext) {
  const completeUpTo = { services: release.watermark };
  reply.header('trm-complete-up-to', completeUpToHeader(completeUpTo));
  reply.header('trm-release', release.releaseId);
  return { release: releaseRef(release), tier, disclosure: disclosureOf(ctx.policy.tiers[tier]), completeUpTo };
}

function wantsCsv(request: FastifyRequest, format: 'json' | 'csv' | undefined): boolean {
  if (format) return format === 'csv';
  const accept = request.headers.accept ?? '*/*';
  if (/text\/csv/.test(accept)) return true;
  if (/application\/json|\*\/\*|application\/\*/.test(accept)) return false;
  throw new ProblemError(406, 'not-acceptable', 'Statistics are served as application/json or text/csv.');
}

function asProblem(err: unknown): never {
  if (err instanceof DomainError) {
    const status = err.kind === 'conflict' ? 409 : err.kind === 'invalid' ? 422 : err.kind === 'not_found' ? 404 : 403;
    throw new ProblemError(status, err.code, err.message, { unmet: [...err.unmet] });
  }
  throw err;
}

function sendCsv(reply: FastifyReply, filename: string, header: string[], lines: string[]) {
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${filename}"`)
    .send(csvLine(header) + lines.join(''));
}

export async function statisticsRoutes(app: FastifyInstance, ctx: StatisticsContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/v1/statistics/figures',
    { config: ACCESS, schema: { tags: TAG, summary: 'The published figures, their dimensions and the disclosure policy' } },
    async (request, reply) => {
      checkReader(request);
      const tier = tierOf(request, ctx);
      const release = await currentRelease(ctx);
      return {
        ...provenance(reply, release, tier, ctx),
        years: [...release.years.keys()].filter((k) => k.startsWith(`${tier}:`)).map((k) => Number(k.split(':')[1])).sort(),
        figures: FIGURES.map((f) => ({ id: f.id, title: f.title, unit: f.unit, description: f.description, dimensions: f.dims, amounts: f.amounts === true, means: f.measures ?? [] })),
        dimensions: Object.fromEntries(
          DIMENSION_IDS.map((d) => [d, { title: DIMENSIONS[d].title, categories: DIMENSIONS[d].fixed, categoriesFromRelease: OPEN_DIMENSIONS.includes(d) }]),
        ),
        annualTables: ANNUAL_TABLES.map((t) => ({ id: t.id, title: t.title, figure: t.figure, groupBy: t.groupBy })),
      };
    },
  );

  r.get(
    '/v1/statistics/figures/:figure',
    {
      config: ACCESS,
      schema: {
        tags: TAG,
        summary: 'One figure for one year, filtered and grouped (JSON or CSV)',
        description:
          'Read from the latest release (header `TRM-Release`, `release`), in the caller\'s tier (`tier`: public, or internal for the central contact point\'s analysts). Filters are query parameters named by dimension (`?year=2026&sex=female&groupBy=ageBand`); filters and groupBy together name at most two dimensions, a slice of one of the release\'s linked tables. Cells with fewer than k cases, lines and figures whose margin is below k (zeros included), and counts that moved by fewer than k since an earlier release are suppressed (`value: null`), with complementary suppression across every table of the release; open categories below k are folded into `other`; counts and amounts are rounded to the tier\'s bases. A filter on a population below k, a folded category or a hidden margin is refused (409 query-too-narrow). The `TRM-Complete-Up-To` header and `completeUpTo` give the release\'s watermark.',
        params: FigureParams,
        querystring: FigureQuery,
      },
    },
    async (request, reply) => {
      checkReader(request);
      const { year, groupBy, format, ...rest } = request.query;
      const csv = wantsCsv(request, format);
      const filters = Object.fromEntries(Object.entries(rest).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const dims = groupBy ? groupBy.split(',') : [];
      const tier = tierOf(request, ctx);
      const release = await currentRelease(ctx);
      let answer;
      try {
        answer = answerFigure(ctx, release, tier, request.params.figure, year, dims, filters);
      } catch (err) {
        asProblem(err);
      }
      const meta = provenance(reply, release, tier, ctx);
      if (csv) {
        const { header, lines } = cellsToCsv([...Object.keys(filters), ...dims], answer.cells);
        return sendCsv(reply, `${answer.figure}-${year}.csv`, header, lines);
      }
      return { ...answer, ...meta };
    },
  );

  const annualCsv = (tables: AnnualTable[]) => {
    const header = ['table', 'dimension_1', 'category_1', 'dimension_2', 'category_2', 'value', 'suppressed', 'amounts', 'means'];
    const lines = tables.flatMap((t) =>
      t.cells.map((c) =>
        csvLine([
          t.table,
          t.groupBy[0] ?? '',
          t.groupBy[0] ? c[t.groupBy[0]] : '',
          t.groupBy[1] ?? '',
          t.groupBy[1] ? c[t.groupBy[1]] : '',
          c.value,
          c.suppressed,
          Object.entries(c.amounts ?? {})
            .map(([cur, a]) => `${cur} ${a ?? ''}`.trim())
            .join('; '),
          Object.entries(c.measures ?? {})
            .map(([m, v]) => `${m}=${v ?? ''}`)
            .join('; '),
        ]),
      ),
    );
    return { header, lines };
  };

  r.get(
    '/v1/statistics/annual/:year',
    {
      config: ACCESS,
      schema: {
        tags: TAG,
        summary: 'Every annual reporting table of a year (JSON, or CSV in long format)',
        params: AnnualParams,
        querystring: FormatQuery,
      },
    },
    async (request, reply) => {
      checkReader(request);
      const csv = wantsCsv(request, request.query.format);
      const tier = tierOf(request, ctx);
      const release = await currentRelease(ctx);
      const tables: AnnualTable[] = ANNUAL_TABLES.map((t) => answerAnnualTable(ctx, release, tier, t.id, request.params.year));
      const meta = provenance(reply, release, tier, ctx);
      if (csv) {
        const { header, lines } = annualCsv(tables);
        return sendCsv(reply, `trm-annual-${request.params.year}.csv`, header, lines);
      }
      return { year: request.params.year, ...meta, tables };
    },
  );

  r.get(
    '/v1/statistics/annual/:year/:table',
    {
      config: ACCESS,
      schema: { tags: TAG, summary: 'One annual reporting table (JSON or CSV)', params: AnnualTableParams, querystring: FormatQuery },
    },
    async (request, reply) => {
      checkReader(request);
      const csv = wantsCsv(request, request.query.format);
      const tier = tierOf(request, ctx);
      const release = await currentRelease(ctx);
      const table = answerAnnualTable(ctx, release, tier, request.params.table, request.params.year);
      const meta = provenance(reply, release, tier, ctx);
      if (csv) {
        const { header, lines } = cellsToCsv(table.groupBy, table.cells);
        return sendCsv(reply, `${table.table}-${request.params.year}.csv`, header, lines);
      }
      return { ...table, ...meta };
    },
  );

  r.post(
    '/v1/statistics/releases',
    {
      config: { access: routeAccess('POST /v1/statistics/releases') },
      schema: {
        tags: TAG,
        summary: 'Makes a release now (central national contact point)',
        description:
          'Every statistics answer comes from the latest release: a fixed watermark, its tables protected together once, when it is made. Releases are made on a schedule (policy TRM_STATS_RELEASE_EVERY) and, by the central contact point of the home country, on demand (at most TRM_STATS_RELEASES_PER_DAY in any 24 hours: 429 release-limit-reached). Regional centres and foreign contact points: 403.',
        body: z.strictObject({}).meta({ examples: [{}] }),
      },
    },
    async (request, reply) => {
      const p = request.principal;
      if (p.orgType !== 'national_contact_point' || p.parentOrgId !== null || p.country !== ctx.policy.homeCountry) {
        throw new ProblemError(403, 'release-not-for-this-organisation', 'Only the central national contact point of the home country makes releases on demand.');
      }
      const now = ctx.clock();
      if ((await onDemandReleasesSince(ctx.db, ctx.schema, new Date(now.getTime() - 86_400_000))) >= ctx.policy.onDemandPerDay) {
        throw new ProblemError(429, 'release-limit-reached', 'The on-demand releases allowed in 24 hours have been made; the next scheduled release follows.');
      }
      const { meta } = await makeRelease(ctx, 'on_demand', p.orgId);
      return reply.status(201).send({ releaseId: meta.releaseId, watermark: meta.watermark, createdAt: meta.createdAt });
    },
  );
}
