import type { Db } from '@trm/db';
import { computeEventHash } from '@trm/event-store';
import { sql } from 'kysely';

/**
 * The hash of an event recomputed from its content (issue 15, finding 2): a stored `hash` that
 * does not match the content it sits beside counts for nothing, so a mismatch yields a value no
 * other side can equal.
 */
function contentHash(event: { prevHash: string | null; hash: string } & Parameters<typeof computeEventHash>[1]): string {
  try {
    const h = computeEventHash(event.prevHash, event);
    return h === event.hash ? h : `content-differs-from-its-hash:${h}`;
  } catch {
    return 'content-not-hashable';
  }
}

export interface ReconcileOptions {
  ledgerSchema: string;
  /** Schemas to compare; default every schema holding an `events` table. */
  services?: string[];
  /** Events younger than this are on their way to the ledger, not missing. */
  graceMs: number;
  now: Date;
  /** Listed items per kind (counts are always complete). */
  listLimit?: number;
  batchSize?: number;
}

interface Side {
  eventId: string;
  hash: string;
  /** Ledger index (ledger side) or recorded time (service side). */
  at: string;
  streamId: string;
}

export interface Discrepancy {
  eventId: string;
  streamId: string;
  /** Ledger index of the entry, when the ledger has one. */
  index?: number;
  recordedAt?: string;
}

export interface ServiceReport {
  service: string;
  events: number;
  entries: number;
  /** Recorded by the service before the grace period, absent from the ledger. */
  missingFromLedger: { count: number; items: Discrepancy[] };
  /** Recorded within the grace period and not yet in the ledger: normal lag. */
  inFlight: number;
  /** In the ledger, unknown to the service that supposedly recorded them. */
  unknownToService: { count: number; items: Discrepancy[] };
  /** Same event id, different content (hashes recomputed from the content on both sides, never the stored `hash` trusted). */
  differing: { count: number; items: Discrepancy[] };
}

export interface ReconcileReport {
  ok: boolean;
  services: ServiceReport[];
  /** Ledger entries naming a service whose events this database does not hold. */
  unknownServices: Array<{ service: string; entries: number }>;
}

/** Schemas holding an events table: every service's own event store. */
export async function serviceSchemas(db: Db, ledgerSchema: string): Promise<string[]> {
  const { rows } = await sql<{ schema: string }>`
    select table_schema as schema from information_schema.tables
    where table_name = 'events' and table_type = 'BASE TABLE' and table_schema <> ${ledgerSchema}
    order by table_schema`.execute(db);
  return rows.map((r) => r.schema);
}

/** Reads one side in event-id order, a page at a time. */
async function* pages(read: (after: string, limit: number) => Promise<Side[]>, batch: number): AsyncGenerator<Side> {
  // '' reads from the start.
  let after = '';
  for (;;) {
    const page = await read(after, batch);
    for (const row of page) yield row;
    if (page.length < batch) return;
    after = page[page.length - 1]!.eventId;
  }
}

/**
 * Compares each service's own events with the ledger by event id and content hash, in one
 * ordered merge per service (constant memory, and the same code would serve split databases).
 */
export async function reconcile(db: Db, opts: ReconcileOptions): Promise<ReconcileReport> {
  const limit = opts.listLimit ?? 100;
  const batch = opts.batchSize ?? 5000;
  const ledger = sql.table(`${opts.ledgerSchema}.ledger_entries`);
  const services = opts.services ?? (await serviceSchemas(db, opts.ledgerSchema));
  const cutoff = opts.now.getTime() - opts.graceMs;
  const reports: ServiceReport[] = [];

  for (const service of services) {
    const events = sql.table(`${service}.events`);
    const readService = async (after: string, n: number) =>
      (
        await sql<Side & { row: string }>`select event_id::text as "eventId", stream_id as "streamId",
            to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at,
            json_build_object('eventId', event_id, 'streamId', stream_id, 'streamVersion', stream_version, 'type', event_type,
              'schemaVersion', schema_version, 'data', data, 'metadata', metadata, 'prevHash', prev_hash, 'hash', hash,
              'recordedAt', to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text as row
          from ${events} where ${after ? sql`event_id > ${after}::uuid` : sql`true`} order by event_id limit ${n}::int`.execute(db)
      ).rows.map(({ row, ...side }) => ({ ...side, hash: contentHash(JSON.parse(row)) }));
    const readLedger = async (after: string, n: number) =>
      (
        // The event's JSON is parsed for the page only: a plan that sorts (the ledger's statistics
        // not gathered yet, after a large backfill) would otherwise parse every remaining entry.
        await sql<Side & { event: string }>`select p.event_id::text as "eventId", p.event, p.stream_id as "streamId", p.ledger_index::text as at
          from (select event_id, event, stream_id, ledger_index from ${ledger}
                where service = ${service} and ${after ? sql`event_id > ${after}::uuid` : sql`true`}
                order by event_id limit ${n}::int) p
          order by p.event_id`.execute(db)
      ).rows.map(({ event, ...side }) => {
        let hash = 'content-not-json';
        try {
          hash = contentHash(JSON.parse(event));
        } catch {
          // stays unequal to anything a service holds
        }
        return { ...side, hash };
      });
    const report: ServiceReport = {
      service,
      events: 0,
      entries: 0,
      missingFromLedger: { count: 0, items: [] },
      inFlight: 0,
      unknownToService: { count: 0, items: [] },
      differing: { count: 0, items: [] },
    };
    const add = (list: { count: number; items: Discrepancy[] }, d: Discrepancy) => {
      list.count++;
      if (list.items.length < limit) list.items.push(d);
    };
    const a = pages(readService, batch);
    const b = pages(readLedger, batch);
    let s = await a.next();
    let l = await b.next();
    while (!s.done || !l.done) {
      const cmp = s.done ? 1 : l.done ? -1 : s.value.eventId < l.value.eventId ? -1 : s.value.eventId > l.value.eventId ? 1 : 0;
      if (cmp < 0 && !s.done) {
        report.events++;
        if (Date.parse(s.value.at) > cutoff) report.inFlight++;
        else add(report.missingFromLedger, { eventId: s.value.eventId, streamId: s.value.streamId, recordedAt: s.value.at });
        s = await a.next();
      } else if (cmp > 0 && !l.done) {
        report.entries++;
        add(report.unknownToService, { eventId: l.value.eventId, streamId: l.value.streamId, index: Number(l.value.at) });
        l = await b.next();
      } else if (!s.done && !l.done) {
        report.events++;
        report.entries++;
        if (s.value.hash !== l.value.hash) add(report.differing, { eventId: s.value.eventId, streamId: s.value.streamId, index: Number(l.value.at) });
        s = await a.next();
        l = await b.next();
      }
    }
    reports.push(report);
  }

  const { rows } = await sql<{ service: string; n: string }>`
    select service, count(*)::text as n from ${ledger} group by service order by service`.execute(db);
  const unknownServices = rows.filter((r) => !services.includes(r.service)).map((r) => ({ service: r.service, entries: Number(r.n) }));
  const ok =
    unknownServices.length === 0 &&
    reports.every((r) => r.missingFromLedger.count === 0 && r.unknownToService.count === 0 && r.differing.count === 0);
  return { ok, services: reports, unknownServices };
}
