import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '@trm/db';
import type { DbOrTx } from '@trm/event-store';
import { type Basis, type FigureRow, type LinkedAuditor, type ProtectedYear, type TierPolicy, protectYear } from '../domain/disclosure.js';
import { FIGURES } from '../domain/figures.js';
import { loadFigureRows } from './facts.repository.js';

export interface ReleaseWatermark {
  service: string;
  /** Every event of the service at or before this point of its global order is in the release. */
  completeThrough: { transactionId: string; globalPosition: string };
}

export interface ReleaseMeta {
  releaseId: string;
  createdAt: string;
  kind: 'scheduled' | 'on_demand';
  watermark: ReleaseWatermark[];
}

export interface Release extends ReleaseMeta {
  /** `${tier}:${year}` → protected cells. */
  years: Map<string, ProtectedYear>;
}

const LOCK = 0x7472_6d14; // "trm" + issue 14: one release at a time across replicas

async function factYears(db: DbOrTx, schema: string): Promise<number[]> {
  const t = (n: string) => sql.id(schema, n);
  const { rows } = await sql<{ year: number }>`
    select distinct year from (
      select year from ${t('case_facts')} union select year from ${t('referral_facts')} union select year from ${t('assistance_facts')}
      union select year from ${t('return_facts')} union select year from ${t('proceeding_facts')} union select year from ${t('compensation_facts')}
      union select year from ${t('duty_facts')}) y order by year`.execute(db);
  return rows.map((r) => Number(r.year));
}

export interface ReleaseTiming {
  readMs: number;
  protectMs: number;
  writeMs: number;
  years: number;
  cells: number;
  suppressed: number;
}

/**
 * Makes a release: reads every fact of every year in one snapshot, protects each year for each
 * tier against what earlier releases of that year and tier published, and stores the result.
 * The watermark is taken before the snapshot, so every event it names is in the facts read.
 */
export async function createRelease(
  db: Db,
  schema: string,
  opts: { kind: ReleaseMeta['kind']; requestedBy: string | null; now: Date; tiers: readonly TierPolicy[]; watermark: ReleaseWatermark[]; auditor?: LinkedAuditor | undefined },
): Promise<{ meta: ReleaseMeta; timing: ReleaseTiming }> {
  const releaseId = randomUUID();
  const timing: ReleaseTiming = { readMs: 0, protectMs: 0, writeMs: 0, years: 0, cells: 0, suppressed: 0 };
  await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(${LOCK})`.execute(tx);
      let t0 = performance.now();
      const years = await factYears(tx, schema);
      const input = new Map<number, Record<string, FigureRow[]>>();
      for (const year of years) {
        const rows: Record<string, FigureRow[]> = {};
        for (const figure of FIGURES) rows[figure.id] = await loadFigureRows(tx, schema, figure, year, opts.now);
        input.set(year, rows);
      }
      timing.readMs += performance.now() - t0;
      await sql`insert into ${sql.id(schema, 'releases')} (release_id, created_at, kind, requested_by, watermark)
        values (${releaseId}, ${opts.now.toISOString()}::timestamptz, ${opts.kind}, ${opts.requestedBy}, ${JSON.stringify(opts.watermark)}::jsonb)`.execute(tx);
      for (const tier of opts.tiers) {
        for (const year of years) {
          t0 = performance.now();
          const { rows: prev } = await sql<{ basis: Basis }>`
            select y.basis from ${sql.id(schema, 'release_years')} y join ${sql.id(schema, 'releases')} r using (release_id)
            where y.tier = ${tier.tier} and y.year = ${year} and r.release_id <> ${releaseId}
            order by r.seq desc limit 1`.execute(tx);
          timing.readMs += performance.now() - t0;
          t0 = performance.now();
          const { published, basis } = await protectYear({ year, rows: input.get(year)! }, tier, prev[0]?.basis ?? {}, { auditor: opts.auditor });
          timing.protectMs += performance.now() - t0;
          timing.years += 1;
          timing.cells += published.stats.cells;
          timing.suppressed += published.stats.suppressed;
          t0 = performance.now();
          await sql`insert into ${sql.id(schema, 'release_years')} (release_id, tier, year, payload, basis)
            values (${releaseId}, ${tier.tier}, ${year}, ${JSON.stringify(published)}::jsonb, ${JSON.stringify(basis)}::jsonb)`.execute(tx);
          timing.writeMs += performance.now() - t0;
        }
      }
    });
  return { meta: { releaseId, createdAt: opts.now.toISOString(), kind: opts.kind, watermark: opts.watermark }, timing };
}

interface ReleaseRow {
  release_id: string;
  created_at: string;
  kind: ReleaseMeta['kind'];
  watermark: ReleaseWatermark[];
}

export async function latestReleaseMeta(db: DbOrTx, schema: string): Promise<ReleaseMeta | undefined> {
  const { rows } = await sql<ReleaseRow>`
    select release_id, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at, kind, watermark
    from ${sql.id(schema, 'releases')} order by seq desc limit 1`.execute(db);
  const r = rows[0];
  return r ? { releaseId: r.release_id, createdAt: r.created_at, kind: r.kind, watermark: r.watermark } : undefined;
}

export async function loadReleaseYears(db: DbOrTx, schema: string, releaseId: string): Promise<Map<string, ProtectedYear>> {
  const { rows } = await sql<{ tier: string; year: number; payload: ProtectedYear }>`
    select tier, year, payload from ${sql.id(schema, 'release_years')} where release_id = ${releaseId}`.execute(db);
  return new Map(rows.map((r) => [`${r.tier}:${r.year}`, r.payload]));
}

export async function onDemandReleasesSince(db: DbOrTx, schema: string, since: Date): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.id(schema, 'releases')}
    where kind = 'on_demand' and created_at > ${since.toISOString()}::timestamptz`.execute(db);
  return Number(rows[0]!.n);
}
