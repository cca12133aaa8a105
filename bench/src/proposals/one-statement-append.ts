import { randomUUID } from 'node:crypto';
import { canonicalEventBytes, type EventMetadata } from '@trm/event-store';
import type pg from 'pg';

/**
 * ADOPTED: @trm/event-store now appends this way (events_append, created by
 * migrations/common/2026-11-22T0006_events-append-function.sql, which also parses the stored
 * fields from the hashed bytes and returns positions and hashes). This copy stays only because
 * append.bench.ts's BENCH_DIAGNOSE variant `trm_one_statement` imports it; delete both together.
 *
 * A proposal for @trm/event-store, measured by BENCH_DIAGNOSE=1, not used by any service: the
 * append in one statement. Today an append owns a transaction of five round trips (BEGIN, advisory
 * lock, head read, INSERT, COMMIT); on this machine each round trip costs more than the work.
 * Here the client sends the canonical bytes of each event (it knows every hashed field, the
 * version included, because the expected version is explicit) and a plpgsql function locks the
 * stream, checks the head, chains the hashes with sha256() and inserts, in the implicit
 * transaction of one statement. The hashes are those of computeEventHash, so verifyAll accepts
 * the events: the benchmark checks it. The relay's wake-up is the other half of the proposal: a
 * transaction that NOTIFYs takes a cluster-wide lock from pre-commit to the end of its commit, so
 * the benchmark runs this variant on a table without the NOTIFY trigger (the store's onAppended
 * hint, or one NOTIFY per process at most every few milliseconds, can wake relays instead).
 */
export function oneStatementAppendSql(schema: string): string {
  const q = `"${schema.replace(/"/g, '""')}"`;
  return `
create function ${q}.append_chain(
  p_lock_key text, p_stream text, p_expected int, p_ids uuid[], p_types text[], p_data jsonb[],
  p_metadata jsonb, p_recorded_at timestamptz, p_canonical bytea[]
) returns int language plpgsql as $$
declare
  head_version int;
  head_hash text;
  prevs text[] := '{}';
  hashes text[] := '{}';
  prev text;
begin
  perform pg_advisory_xact_lock(hashtextextended(p_lock_key, 0));
  select e.stream_version, e.hash into head_version, head_hash
    from ${q}.events e where e.stream_id = p_stream order by e.stream_version desc limit 1;
  if coalesce(head_version, 0) <> p_expected then
    raise exception 'stream % is at version %, expected %', p_stream, coalesce(head_version, 0), p_expected
      using errcode = 'P0409';
  end if;
  prev := head_hash;
  for i in 1 .. cardinality(p_ids) loop
    prevs := prevs || prev;
    prev := encode(sha256(coalesce(decode(prev, 'hex'), ''::bytea) || p_canonical[i]), 'hex');
    hashes := hashes || prev;
  end loop;
  -- One INSERT for the whole append: statement triggers fire once, as for the store's own INSERT.
  insert into ${q}.events (stream_id, stream_version, event_id, event_type, schema_version, data, metadata, recorded_at, prev_hash, hash)
    select p_stream, p_expected + x.n::int, x.id, x.t, 1, x.d, p_metadata, p_recorded_at, x.p, x.h
    from unnest(p_ids, p_types, p_data, prevs, hashes) with ordinality as x(id, t, d, p, h, n);
  return p_expected + cardinality(p_ids);
end
$$;`;
}

export async function oneStatementAppend(
  pool: pg.Pool,
  schema: string,
  streamId: string,
  events: Array<{ type: string; data: unknown }>,
  expectedVersion: number,
  metadata: EventMetadata,
  now = new Date(),
): Promise<number> {
  const recordedAt = now.toISOString();
  const ids: string[] = [];
  const canonical: Buffer[] = [];
  events.forEach((e, i) => {
    const eventId = randomUUID();
    ids.push(eventId);
    canonical.push(
      canonicalEventBytes({ eventId, streamId, streamVersion: expectedVersion + 1 + i, type: e.type, schemaVersion: 1, data: e.data, metadata, recordedAt }),
    );
  });
  const { rows } = await pool.query<{ v: number }>(
    `select "${schema}".append_chain($1, $2, $3, $4::uuid[], $5::text[], $6::text[]::jsonb[], $7::jsonb, $8::timestamptz, $9::bytea[]) as v`,
    [
      `trm.events:${schema}:${streamId}`,
      streamId,
      expectedVersion,
      ids,
      events.map((e) => e.type),
      events.map((e) => JSON.stringify(e.data)),
      JSON.stringify(metadata),
      recordedAt,
      canonical,
    ],
  );
  return rows[0]!.v;
}
