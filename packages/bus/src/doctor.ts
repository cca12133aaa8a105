/**
 * The bus doctor: what an operator needs to see and repair when events do not reach a consumer.
 * `report` reads the messaging tables of every service schema (and, when given, the JetStream
 * stream and durables) and changes nothing. The repairs (`replay`, `discard`, `resetCheckpoint`)
 * describe what they would change and change nothing unless `dryRun: false`.
 *
 * Replaying does not run a second copy of the consumers' logic: it resolves the dead letters and
 * delivers the stream's dead-lettered events once more on the bus, so the running consumer itself
 * (its handler, batches, filter, stream locks and version rule) applies what its source holds, in
 * version order. With the in-process bus (embedded host) that happens before `redeliver` returns;
 * with JetStream the doctor waits for the consumer's stream position to move and says which way
 * it went (applied, dead-lettered again, or still pending because the service is not running).
 */
import { randomUUID } from 'node:crypto';
import { type ConsumerInfo, type JetStreamClient, JetStreamApiError, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, millis } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { EventEnvelope, ServiceName } from '@trm/contracts';
import { type Kysely, type RawBuilder, type Transaction, sql } from 'kysely';
import { type Bus, eventSubject } from './bus.js';
import { loadRelayCheckpoint, loadStreamMark, resetRelayCheckpoint } from './checkpoints.js';
import { consumerTables } from './consumer.js';
import { JetStreamBus } from './jetstream-bus.js';
import { sameDatabaseSource } from './source.js';

// ---------------------------------------------------------------------------------------------
// Scope and report types

/** A service schema: its events (a source and a relay's outbox) and its consumers' tables. */
export interface DoctorService {
  service: ServiceName;
  schema: string;
  /** The relay's name (relay_checkpoints key); the service name by default. */
  relay?: string;
}

/** A consumer the caller knows of. Consumers found in the tables are reported too, their filter unknown. */
export interface DoctorConsumer {
  schema: string;
  name: string;
  /** The durable's filter (with the subject prefix): which events of its sources it must apply. */
  filterSubject?: string;
}

export interface DoctorScope {
  services: readonly DoctorService[];
  consumers?: readonly DoctorConsumer[];
  /** First token of every subject (`trm` unless configured otherwise). */
  subjectsPrefix?: string;
}

export interface DeadLetterView {
  /** `<schema>:<id>`: what `replay` and `discard` take. */
  id: string;
  consumer: string;
  eventId: string | null;
  subject: string;
  type: string | null;
  source: string | null;
  streamId: string | null;
  version: number | null;
  error: string;
  deliveries: number;
  deadAt: string;
  /** True when it belongs to a stream: later versions of that stream wait behind it for this consumer. */
  blocksStream: boolean;
  /** The lower dead letter of the same stream this one waits behind, if any (replay or discard that one). */
  waitsBehind: string | null;
}

export interface LagView {
  source: string;
  /** Events of the source this consumer must apply and has not (counted up to `bound`). */
  events: number;
  streams: number;
  /** The count stopped at `bound`. */
  capped: boolean;
  oldestAt: string | null;
  /** Streams held by an open dead letter. */
  blockedStreams: number;
  /** Streams whose missing events the relay has not published yet, or did within the grace period, or while messages wait for the consumer. */
  inFlightStreams: number;
  /** Streams behind with nothing pending: see `gaps`. */
  gapStreams: number;
}

export interface GapView {
  source: string;
  streamId: string;
  /** Last version applied by the consumer. */
  applied: number;
  firstMissing: number;
  lastMissing: number;
  events: number;
  oldestAt: string;
}

export interface DurableView {
  name: string;
  filterSubject: string | null;
  numPending: number;
  numAckPending: number;
  numRedelivered: number;
  deliveredSeq: number;
  ackFloorSeq: number;
  maxDeliver: number;
}

export interface ConsumerReport {
  schema: string;
  name: string;
  filterSubject: string | null;
  /** False when the consumer was only found in the tables: lag then counts every event of its sources' streams. */
  filterKnown: boolean;
  inbox: number;
  streamsTracked: number;
  deadLetters: { open: number; resolved: number; items: DeadLetterView[] };
  lag: LagView[];
  gaps: GapView[];
  /** Messages not yet acknowledged, when the transport says (JetStream: num_pending + num_ack_pending). */
  pending: number | null;
  durable: DurableView | null;
}

export interface RelayReport {
  /** `<schema>.<name>`: what `resetCheckpoint` takes. */
  relay: string;
  schema: string;
  name: string;
  checkpoint: { transactionId: string; globalPosition: string; updatedAt: string; streamCreated: string | null; streamSeq: number | null } | null;
  newest: { transactionId: string; globalPosition: string; recordedAt: string } | null;
  /** Committed events after the checkpoint (counted up to `bound`). */
  eventsBehind: number;
  capped: boolean;
  oldestUnpublishedAt: string | null;
  lease: { holder: string; expiresAt: string; acquiredAt: string; expired: boolean } | null;
}

export interface StreamView {
  name: string;
  created: string;
  firstSeq: number;
  lastSeq: number;
  messages: number;
  bytes: number;
  maxAgeMs: number;
  duplicateWindowMs: number;
}

export interface BusReport {
  generatedAt: string;
  healthy: boolean;
  /** One line per thing that needs a look, with the command that repairs it. */
  findings: string[];
  consumers: ConsumerReport[];
  relays: RelayReport[];
  stream: StreamView | null;
  /** Durables of the stream no schema's tables know yet (they have applied nothing). */
  otherDurables: DurableView[];
  /** Why the stream or durables could not be read, if they could not. */
  natsError: string | null;
}

/** What the doctor can learn from the transport. */
export interface BusInfo {
  stream(): Promise<StreamView | undefined>;
  /** One durable (JetStream's consumer info, which every service's NATS user may ask), undefined if there is none. */
  durable(name: string): Promise<DurableView | undefined>;
  /** Every durable of the stream (JetStream's consumer list: a service's NATS user may not be allowed it). */
  durables(): Promise<DurableView[]>;
}

export interface ReportOptions {
  /** Missing events published longer ago than this, with no dead letter and no message waiting for the consumer, are a gap (default 60 s). */
  gapGraceMs?: number;
  /** Rows counted per consumer and source, and per relay (default 100,000). */
  bound?: number;
  /** Open dead letters listed per consumer (default 100; all are counted). */
  deadLetterLimit?: number;
  /** Gaps listed per consumer (default 50; all are counted). */
  gapLimit?: number;
  nats?: BusInfo;
  /** Pending messages of a consumer, when the transport is not JetStream (the in-process bus). */
  pendingOf?: (consumer: string) => Promise<number | undefined>;
}

export class DoctorError extends Error {
  override readonly name = 'DoctorError';
  constructor(
    readonly kind: 'not-found' | 'refused' | 'invalid',
    message: string,
    /** The input it is about (`deadLetter`, `relay`, `stream`…), for a problem's pointer. */
    readonly field?: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const iso = (v: unknown): string => (v instanceof Date ? v : new Date(String(v))).toISOString();
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function serviceOf(scope: DoctorScope, service: string): DoctorService | undefined {
  return scope.services.find((s) => s.service === service);
}

function serviceBySchema(scope: DoctorScope, schema: string): DoctorService | undefined {
  return scope.services.find((s) => s.schema === schema);
}

const relayName = (s: DoctorService) => s.relay ?? s.service;

/** Schemas holding consumers' tables: every service's, and those of the consumers named. */
function consumerSchemas(scope: DoctorScope): string[] {
  return [...new Set([...scope.services.map((s) => s.schema), ...(scope.consumers ?? []).map((c) => c.schema)])];
}

/** The same key as the consumer's stream lock (consumer.ts lockStreams): the two never interleave. */
async function lockStream(tx: Transaction<any>, consumer: string, source: string, streamId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`${consumer}|${source}|${streamId}`}::text, 0))`.execute(tx);
}

/** Which events of `service` a durable filter takes: none, all, or those of one type (kebab). */
export type FilterMatch = { kind: 'none' } | { kind: 'all' } | { kind: 'type'; kebab: string };

/** Subjects are `<prefix>.<service>.<kebab type>`: the filter read against that shape (see subjectMatches). */
export function filterMatch(filter: string, prefix: string, service: string): FilterMatch {
  const f = filter.split('.');
  const fixed = [prefix, service];
  for (let i = 0; i < 2; i++) {
    const t = f[i];
    if (t === undefined) return { kind: 'none' };
    if (t === '>') return { kind: 'all' };
    if (t !== '*' && t !== fixed[i]) return { kind: 'none' };
  }
  const t = f[2];
  if (t === undefined) return { kind: 'none' };
  if (t === '>') return { kind: 'all' };
  if (f.length !== 3) return { kind: 'none' };
  if (t === '*') return { kind: 'all' };
  return { kind: 'type', kebab: t };
}

/** SQL twin of contracts' kebabCase on `events.event_type`. */
const kebabType = (alias: string) =>
  sql`lower(regexp_replace(regexp_replace(${sql.ref(`${alias}.event_type`)}, '([a-z0-9])([A-Z])', '\\1-\\2', 'g'), '([A-Z])([A-Z][a-z])', '\\1-\\2', 'g'))`;

function matchCondition(m: FilterMatch, alias: string): RawBuilder<unknown> {
  if (m.kind === 'type') return sql`${kebabType(alias)} = ${m.kebab}`;
  return m.kind === 'all' ? sql`true` : sql`false`;
}

/** Distinct values of a table's leading index column, one index probe each (a loose index scan). */
async function distinctConsumers(db: Kysely<any>, table: string): Promise<string[]> {
  const t = sql.table(table);
  const { rows } = await sql<{ consumer: string | null }>`
    with recursive c(consumer) as (
      (select consumer from ${t} order by consumer limit 1)
      union all
      select (select x.consumer from ${t} x where x.consumer > c.consumer order by x.consumer limit 1) from c where c.consumer is not null
    ) select consumer from c where consumer is not null`.execute(db);
  return rows.map((r) => r.consumer!).filter(Boolean);
}

async function distinctSources(db: Kysely<any>, schema: string, consumer: string): Promise<string[]> {
  const t = sql.table(`${schema}.consumer_streams`);
  const { rows } = await sql<{ source: string | null }>`
    with recursive s(source) as (
      (select source from ${t} where consumer = ${consumer} order by source limit 1)
      union all
      select (select x.source from ${t} x where x.consumer = ${consumer} and x.source > s.source order by x.source limit 1) from s where s.source is not null
    ) select source from s where source is not null`.execute(db);
  return rows.map((r) => r.source!).filter(Boolean);
}

/**
 * The services whose schema this database holds (DATABASE_URL may be split per service): the
 * standalone doctor reports on those and says which it skipped.
 */
export async function servicesPresent(db: Kysely<any>, services: readonly DoctorService[]): Promise<DoctorService[]> {
  const out: DoctorService[] = [];
  for (const s of services) {
    const { rows } = await sql<{ ok: boolean }>`select to_regclass(${`${s.schema}.events`}) is not null and to_regclass(${`${s.schema}.consumer_streams`}) is not null as ok`.execute(db);
    if (rows[0]?.ok) out.push(s);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

interface DeadLetterRow {
  id: string;
  consumer: string;
  event_id: string | null;
  payload_event_id: string | null;
  payload_type: string | null;
  subject: string;
  error: string;
  deliveries: number;
  source: string | null;
  stream_id: string | null;
  stream_version: number | null;
  dead_at: unknown;
  resolved_at: unknown;
  resolution: string | null;
}

const deadLetterColumns = sql`id::text as id, consumer, event_id::text as event_id, payload->>'eventId' as payload_event_id,
  payload->>'type' as payload_type, subject, error, deliveries, source, stream_id, stream_version, dead_at, resolved_at, resolution`;

function deadLetterView(schema: string, r: DeadLetterRow, waitsBehind: string | null): DeadLetterView {
  return {
    id: `${schema}:${r.id}`,
    consumer: r.consumer,
    eventId: r.event_id ?? r.payload_event_id,
    subject: r.subject,
    type: r.payload_type,
    source: r.source,
    streamId: r.stream_id,
    version: r.stream_version,
    error: r.error,
    deliveries: r.deliveries,
    deadAt: iso(r.dead_at),
    blocksStream: r.stream_id !== null,
    waitsBehind,
  };
}

export async function report(db: Kysely<any>, scope: DoctorScope, opts: ReportOptions = {}): Promise<BusReport> {
  const prefix = scope.subjectsPrefix ?? 'trm';
  const bound = opts.bound ?? 100_000;
  const graceMs = opts.gapGraceMs ?? 60_000;
  const { rows: clock } = await sql<{ now: unknown }>`select now() as now`.execute(db);
  const now = new Date(iso(clock[0]!.now));

  let stream: StreamView | null = null;
  let listed: DurableView[] | undefined;
  let natsError: string | null = null;
  if (opts.nats) {
    try {
      stream = (await opts.nats.stream()) ?? null;
    } catch (err) {
      natsError = err instanceof Error ? err.message : String(err);
    }
    // Without the right to list them, each consumer's durable is asked by name below.
    if (!natsError) listed = await opts.nats.durables().catch(() => undefined);
  }
  const durableOf = async (name: string): Promise<DurableView | null> => {
    if (!opts.nats || natsError) return null;
    if (listed) return listed.find((d) => d.name === name) ?? null;
    return (await opts.nats.durable(name).catch(() => undefined)) ?? null;
  };

  // Consumers: the ones named by the caller, and every one the tables know.
  const consumers = new Map<string, DoctorConsumer>();
  for (const c of scope.consumers ?? []) consumers.set(`${c.schema}|${c.name}`, c);
  for (const schema of consumerSchemas(scope)) {
    for (const table of ['consumer_streams', 'inbox', 'dead_letters']) {
      for (const name of await distinctConsumers(db, `${schema}.${table}`)) {
        if (!consumers.has(`${schema}|${name}`)) consumers.set(`${schema}|${name}`, { schema, name });
      }
    }
  }

  const relays: RelayReport[] = [];
  for (const s of scope.services) relays.push(...(await relayReports(db, s, bound)));

  const consumerReports: ConsumerReport[] = [];
  for (const c of [...consumers.values()].sort((a, b) => a.schema.localeCompare(b.schema) || a.name.localeCompare(b.name))) {
    const durable = await durableOf(c.name);
    const filter = c.filterSubject ?? durable?.filterSubject ?? null;
    const { inbox, streams, deadLetters } = consumerTables(c.schema);
    const { rows: counts } = await sql<{ inbox: number; streams: number; open: number; resolved: number }>`
      select (select count(*) from ${inbox} where consumer = ${c.name})::int as inbox,
        (select count(*) from ${streams} where consumer = ${c.name})::int as streams,
        (select count(*) from ${deadLetters} where consumer = ${c.name} and resolved_at is null)::int as open,
        (select count(*) from ${deadLetters} where consumer = ${c.name} and resolved_at is not null)::int as resolved`.execute(db);
    const { rows: open } = await sql<DeadLetterRow & { lowest: string | null }>`
      select ${deadLetterColumns},
        (select min(o.id)::text from ${deadLetters} o where o.consumer = d.consumer and o.source = d.source and o.stream_id = d.stream_id
           and o.resolved_at is null and o.stream_version < d.stream_version) as lowest
      from ${deadLetters} d where consumer = ${c.name} and resolved_at is null
      order by dead_at, id limit ${opts.deadLetterLimit ?? 100}`.execute(db);

    // Sources: those the filter takes, or (filter unknown) those the consumer has applied from.
    const sources: Array<{ svc: DoctorService; match: FilterMatch }> = [];
    if (filter) {
      for (const svc of scope.services) {
        const match = filterMatch(filter, prefix, svc.service);
        if (match.kind !== 'none') sources.push({ svc, match });
      }
    } else {
      for (const name of await distinctSources(db, c.schema, c.name)) {
        const svc = serviceOf(scope, name);
        if (svc) sources.push({ svc, match: { kind: 'all' } });
      }
    }

    let pending: number | null = durable ? durable.numPending + durable.numAckPending : null;
    if (pending === null && opts.pendingOf) pending = (await opts.pendingOf(c.name).catch(() => undefined)) ?? null;
    // Messages still to be delivered may be what brings a stream up to date: no gap can be told
    // from them until they are (ack pending is not counted: in flight, or terminated ones a NATS
    // 2.9 server keeps redelivering).
    const backlog = durable ? durable.numPending > 0 : pending !== null && pending > 0;

    const lag: LagView[] = [];
    const gaps: GapView[] = [];
    for (const { svc, match } of sources) {
      const behind = await streamsBehind(db, c, svc, match, bound);
      const view: LagView = { source: svc.service, events: 0, streams: 0, capped: behind.capped, oldestAt: null, blockedStreams: 0, inFlightStreams: 0, gapStreams: 0 };
      let oldest: number | null = null;
      for (const b of behind.rows) {
        view.events += b.missing;
        view.streams++;
        const at = new Date(iso(b.oldest)).getTime();
        oldest = oldest === null ? at : Math.min(oldest, at);
        if (b.blocked) view.blockedStreams++;
        else if (!b.published || backlog || now.getTime() - at < graceMs) view.inFlightStreams++;
        else {
          view.gapStreams++;
          if (gaps.length < (opts.gapLimit ?? 50)) {
            gaps.push({ source: svc.service, streamId: b.stream_id, applied: b.applied, firstMissing: b.first_missing, lastMissing: b.last_missing, events: b.missing, oldestAt: iso(b.oldest) });
          }
        }
      }
      view.oldestAt = oldest === null ? null : new Date(oldest).toISOString();
      lag.push(view);
    }

    consumerReports.push({
      schema: c.schema,
      name: c.name,
      filterSubject: filter,
      filterKnown: filter !== null,
      inbox: counts[0]!.inbox,
      streamsTracked: counts[0]!.streams,
      deadLetters: {
        open: counts[0]!.open,
        resolved: counts[0]!.resolved,
        items: open.map((r) => deadLetterView(c.schema, r, r.lowest ? `${c.schema}:${r.lowest}` : null)),
      },
      lag,
      gaps,
      pending,
      durable,
    });
  }

  const known = new Set(consumerReports.map((c) => c.name));
  const otherDurables = (listed ?? []).filter((d) => !known.has(d.name));
  const findings = findingsOf(scope, consumerReports, relays, now, natsError);
  return {
    generatedAt: now.toISOString(),
    healthy: findings.length === 0,
    findings,
    consumers: consumerReports,
    relays,
    stream,
    otherDurables,
    natsError,
  };
}

interface BehindRow {
  stream_id: string;
  applied: number;
  missing: number;
  first_missing: number;
  last_missing: number;
  oldest: unknown;
  published: boolean;
  blocked: boolean;
}

/**
 * Streams of `svc` where the consumer has not applied every event its filter takes: a join of the
 * source's events with the consumer's stream positions, stopped after `bound` rows.
 */
async function streamsBehind(db: Kysely<any>, c: DoctorConsumer, svc: DoctorService, match: FilterMatch, bound: number): Promise<{ rows: BehindRow[]; capped: boolean }> {
  const { streams, deadLetters } = consumerTables(c.schema);
  const { rows } = await sql<BehindRow & { n: number }>`
    select x.stream_id, x.applied::int as applied, count(*)::int as missing, min(x.stream_version)::int as first_missing,
      max(x.stream_version)::int as last_missing, min(x.recorded_at) as oldest, bool_and(x.published) as published,
      exists (select 1 from ${deadLetters} dl where dl.consumer = ${c.name} and dl.source = ${svc.service}
              and dl.stream_id = x.stream_id and dl.resolved_at is null) as blocked,
      sum(count(*)) over ()::int as n
    from (
      select e.stream_id, e.stream_version, e.recorded_at, coalesce(c.version, 0) as applied,
        coalesce(cp.transaction_id is not null and (e.transaction_id, e.global_position) <= (cp.transaction_id, cp.global_position), false) as published
      from ${sql.table(`${svc.schema}.events`)} e
      left join ${streams} c on c.consumer = ${c.name} and c.source = ${svc.service} and c.stream_id = e.stream_id
      left join ${sql.table(`${svc.schema}.relay_checkpoints`)} cp on cp.relay = ${relayName(svc)}
      where e.stream_version > coalesce(c.version, 0) and ${matchCondition(match, 'e')}
      limit ${bound}
    ) x
    group by x.stream_id, x.applied
    order by min(x.recorded_at)`.execute(db);
  return { rows, capped: (rows[0]?.n ?? 0) >= bound };
}

async function relayReports(db: Kysely<any>, s: DoctorService, bound: number): Promise<RelayReport[]> {
  const checkpoints = sql.table(`${s.schema}.relay_checkpoints`);
  const leases = sql.table(`${s.schema}.relay_leases`);
  const events = sql.table(`${s.schema}.events`);
  const { rows: names } = await sql<{ name: string }>`
    select relay as name from ${checkpoints}
    union select substr(relay, ${s.schema.length + 2}) from ${leases} where relay like ${`${s.schema}.%`}
    union select ${relayName(s)}::text`.execute(db);
  const { rows: newestRows } = await sql<{ transaction_id: string; global_position: string; recorded_at: unknown }>`
    select transaction_id::text as transaction_id, global_position::text as global_position, recorded_at
    from ${events} order by transaction_id desc, global_position desc limit 1`.execute(db);
  const newest = newestRows[0] ? { transactionId: newestRows[0].transaction_id, globalPosition: newestRows[0].global_position, recordedAt: iso(newestRows[0].recorded_at) } : null;
  const out: RelayReport[] = [];
  for (const { name } of names.sort((a, b) => a.name.localeCompare(b.name))) {
    const { rows: cps } = await sql<{ transaction_id: string; global_position: string; updated_at: unknown; stream_created: string | null; stream_seq: string | null }>`
      select transaction_id::text as transaction_id, global_position::text as global_position, updated_at, stream_created, stream_seq::text as stream_seq
      from ${checkpoints} where relay = ${name}`.execute(db);
    const cp = cps[0];
    const after = cp ? sql`where (transaction_id, global_position) > (${cp.transaction_id}::xid8, ${cp.global_position}::bigint)` : sql``;
    const { rows: behind } = await sql<{ n: number; oldest: unknown }>`
      select count(*)::int as n, min(recorded_at) as oldest
      from (select recorded_at from ${events} ${after} order by transaction_id, global_position limit ${bound}) x`.execute(db);
    const { rows: ls } = await sql<{ holder: string; expires_at: unknown; acquired_at: unknown; expired: boolean }>`
      select holder, expires_at, acquired_at, expires_at < now() as expired from ${leases} where relay = ${`${s.schema}.${name}`}`.execute(db);
    const lease = ls[0];
    out.push({
      relay: `${s.schema}.${name}`,
      schema: s.schema,
      name,
      checkpoint: cp
        ? {
            transactionId: cp.transaction_id,
            globalPosition: cp.global_position,
            updatedAt: iso(cp.updated_at),
            streamCreated: cp.stream_created,
            streamSeq: cp.stream_seq === null ? null : Number(cp.stream_seq),
          }
        : null,
      newest,
      eventsBehind: behind[0]?.n ?? 0,
      capped: (behind[0]?.n ?? 0) >= bound,
      oldestUnpublishedAt: isoOrNull(behind[0]?.oldest),
      lease: lease ? { holder: lease.holder, expiresAt: iso(lease.expires_at), acquiredAt: iso(lease.acquired_at), expired: lease.expired } : null,
    });
  }
  return out;
}

function findingsOf(scope: DoctorScope, consumers: ConsumerReport[], relays: RelayReport[], now: Date, natsError: string | null): string[] {
  const out: string[] = [];
  const relayOf = (service: string) => {
    const s = serviceOf(scope, service);
    return s ? `${s.schema}.${relayName(s)}` : service;
  };
  if (natsError) out.push(`NATS could not be read: ${natsError}`);
  for (const c of consumers) {
    const blockers = c.deadLetters.items.filter((d) => d.waitsBehind === null);
    for (const d of blockers) {
      const where = d.streamId ? `${d.source}/${d.streamId} v${d.version}` : d.subject;
      const how = d.streamId ? `replay --dead-letter ${d.id} (after fixing the cause) or discard --dead-letter ${d.id}` : `discard --dead-letter ${d.id} (not an event its source holds)`;
      out.push(`${c.name}: dead letter ${d.id} (${where}): ${d.error} → ${how}`);
    }
    if (c.deadLetters.open > c.deadLetters.items.length) out.push(`${c.name}: ${c.deadLetters.open} open dead letters, ${c.deadLetters.items.length} listed`);
    for (const g of c.gaps) {
      out.push(`${c.name}: gap in ${g.source}/${g.streamId} (applied v${g.applied}, v${g.firstMissing}–v${g.lastMissing} missing, nothing pending) → replay --consumer ${c.name} --stream ${g.source}/${g.streamId}, or republish --relay ${relayOf(g.source)}`);
    }
    const gapStreams = c.lag.reduce((n, l) => n + l.gapStreams, 0);
    if (gapStreams > c.gaps.length) out.push(`${c.name}: ${gapStreams} streams with gaps, ${c.gaps.length} listed`);
  }
  for (const r of relays) {
    if (r.eventsBehind === 0) continue;
    const age = r.oldestUnpublishedAt ? (now.getTime() - new Date(r.oldestUnpublishedAt).getTime()) / 1000 : 0;
    // A relay a few seconds behind is working; one a minute behind, or with no live lease, is not.
    if (age < 60 && r.lease && !r.lease.expired) continue;
    const who = !r.lease ? 'no relay holds its lease' : r.lease.expired ? `its lease expired at ${r.lease.expiresAt}` : `held by ${r.lease.holder}`;
    out.push(`relay ${r.relay}: ${r.eventsBehind}${r.capped ? '+' : ''} events not published, oldest ${Math.round(age)} s old (${who})`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Repairs

export type Redeliver = (envelopes: readonly EventEnvelope[]) => Promise<void>;

export interface RepairOptions {
  /** Default true: say what would change, change nothing. */
  dryRun?: boolean;
  /** How events are delivered again (replay, and discard when later versions wait behind the dead letter). */
  redeliver?: Redeliver;
  /** How long to wait for the consumer to apply what was delivered again (default 10 s). */
  waitMs?: number;
  /** Where a consumer's filter is found when the scope does not name it (JetStream's durables). */
  nats?: BusInfo;
}

export interface RepairResult {
  action: 'replay' | 'discard' | 'reset-checkpoint';
  dryRun: boolean;
  /** Whether anything was changed. */
  changed: boolean;
  summary: string;
  /** What was (or, in a dry run, would be) changed, one line each. */
  changes: string[];
  /** After a change: what the consumer or relay did next. */
  outcome: { state: 'applied' | 'dead-lettered' | 'pending' | 'republishing' | 'done'; appliedVersion: number | null; detail: string } | null;
}

export type ReplayTarget = { deadLetter: string } | { consumer: string; stream: string; schema?: string };

interface Located {
  schema: string;
  row: DeadLetterRow;
}

/** `<schema>:<id>`, or `<id>` alone when only one schema has a dead letter of that id. */
async function findDeadLetter(db: Kysely<any>, scope: DoctorScope, ref: string): Promise<Located> {
  const m = /^(?:([a-z_][a-z0-9_]*):)?([1-9][0-9]{0,17})$/.exec(ref);
  if (!m) throw new DoctorError('invalid', `dead letter ${JSON.stringify(ref)}: expected <schema>:<id>, e.g. repatriation:12`, 'deadLetter');
  const [, schema, id] = m;
  const schemas = schema ? [schema] : consumerSchemas(scope);
  if (schema && !consumerSchemas(scope).includes(schema)) throw new DoctorError('not-found', `no schema ${schema}`, 'deadLetter');
  const found: Located[] = [];
  for (const s of schemas) {
    const { rows } = await sql<DeadLetterRow>`select ${deadLetterColumns} from ${sql.table(`${s}.dead_letters`)} where id = ${id}::bigint`.execute(db);
    if (rows[0]) found.push({ schema: s, row: rows[0] });
  }
  if (found.length === 0) throw new DoctorError('not-found', `no dead letter ${ref}`, 'deadLetter');
  if (found.length > 1) throw new DoctorError('invalid', `dead letter id ${id} exists in ${found.map((f) => f.schema).join(', ')}: say which, e.g. ${found[0]!.schema}:${id}`, 'deadLetter');
  return found[0]!;
}

async function openDeadLettersOf(db: Kysely<any>, schema: string, consumer: string, source: string, streamId: string): Promise<DeadLetterRow[]> {
  const { rows } = await sql<DeadLetterRow>`select ${deadLetterColumns} from ${sql.table(`${schema}.dead_letters`)}
    where consumer = ${consumer} and source = ${source} and stream_id = ${streamId} and resolved_at is null
    order by stream_version, id`.execute(db);
  return rows;
}

async function appliedVersion(db: Kysely<any>, schema: string, consumer: string, source: string, streamId: string): Promise<number> {
  const { rows } = await sql<{ version: number }>`select version from ${sql.table(`${schema}.consumer_streams`)}
    where consumer = ${consumer} and source = ${source} and stream_id = ${streamId}`.execute(db);
  return rows[0]?.version ?? 0;
}

async function readSource(db: Kysely<any>, scope: DoctorScope, svc: DoctorService, streamId: string, after: number, upTo: number): Promise<EventEnvelope[]> {
  if (upTo <= after) return [];
  const source = sameDatabaseSource((service) => serviceOf(scope, service)?.schema ?? service);
  return source.read(db, svc.service, [{ streamId, after, upTo }]);
}

/**
 * Waits until the consumer has applied `version` of the stream, or dead-lettered it (or a version
 * at or below it) again, or `waitMs` has passed.
 */
async function awaitOutcome(db: Kysely<any>, schema: string, consumer: string, source: string, streamId: string, version: number, since: Date, waitMs: number): Promise<NonNullable<RepairResult['outcome']>> {
  const until = Date.now() + waitMs;
  for (;;) {
    const applied = await appliedVersion(db, schema, consumer, source, streamId);
    if (applied >= version) return { state: 'applied', appliedVersion: applied, detail: `${consumer} applied ${source}/${streamId} up to version ${applied}` };
    const { rows } = await sql<{ id: string; stream_version: number; error: string }>`select id::text as id, stream_version, error from ${sql.table(`${schema}.dead_letters`)}
      where consumer = ${consumer} and source = ${source} and stream_id = ${streamId} and resolved_at is null and dead_at >= ${since.toISOString()}::timestamptz
      order by stream_version limit 1`.execute(db);
    if (rows[0]) {
      return {
        state: 'dead-lettered',
        appliedVersion: applied,
        detail: `${consumer} failed again at version ${rows[0].stream_version} (dead letter ${schema}:${rows[0].id}): ${rows[0].error}`,
      };
    }
    if (Date.now() >= until) {
      return {
        state: 'pending',
        appliedVersion: applied,
        detail: `delivered again; ${consumer} is at version ${applied} of ${version} (is the service running?). Run the report again to follow it`,
      };
    }
    await sleep(100);
  }
}

async function dbNow(db: Kysely<any>): Promise<Date> {
  const { rows } = await sql<{ now: unknown }>`select clock_timestamp() as now`.execute(db);
  return new Date(iso(rows[0]!.now));
}

/**
 * Replays a dead letter: every open dead letter of its stream for its consumer is resolved
 * (`replayed`) and the stream's dead-lettered events are delivered again, in version order; the
 * consumer applies from its source everything after its last applied version. Without open dead
 * letters (`{ consumer, stream }` of a gap), the newest event of the stream its filter takes is
 * delivered again, which makes the consumer fill the gap from the source.
 */
export async function replayDeadLetter(db: Kysely<any>, scope: DoctorScope, target: ReplayTarget, opts: RepairOptions = {}): Promise<RepairResult> {
  const dryRun = opts.dryRun ?? true;
  let schema: string;
  let consumer: string;
  let svc: DoctorService;
  let streamId: string;
  if ('deadLetter' in target) {
    const { schema: s, row } = await findDeadLetter(db, scope, target.deadLetter);
    if (row.resolved_at !== null) throw new DoctorError('refused', `dead letter ${s}:${row.id} was already resolved (${row.resolution} at ${iso(row.resolved_at)})`, 'deadLetter');
    if (row.stream_id === null || row.source === null || row.stream_version === null) {
      throw new DoctorError('refused', `dead letter ${s}:${row.id} is not an event its source holds (${row.error}): there is nothing to apply again; discard it`, 'deadLetter');
    }
    const found = serviceOf(scope, row.source);
    if (!found) throw new DoctorError('refused', `dead letter ${s}:${row.id} comes from ${row.source}, whose events table is not in this host's scope`, 'deadLetter');
    schema = s;
    consumer = row.consumer;
    svc = found;
    streamId = row.stream_id;
  } else {
    const m = /^([a-z_][a-z0-9_]*)\/(.+)$/.exec(target.stream);
    if (!m) throw new DoctorError('invalid', `stream ${JSON.stringify(target.stream)}: expected <source>/<stream id>, e.g. referrals/case-0192…`, 'stream');
    const found = serviceOf(scope, m[1]!);
    if (!found) throw new DoctorError('not-found', `no source service ${m[1]}`, 'stream');
    const spec = (scope.consumers ?? []).find((c) => c.name === target.consumer && (!target.schema || c.schema === target.schema));
    const schemas = spec ? [spec.schema] : target.schema ? [target.schema] : [];
    if (schemas.length === 0) {
      for (const s of consumerSchemas(scope)) if ((await distinctConsumers(db, `${s}.consumer_streams`)).includes(target.consumer)) schemas.push(s);
    }
    if (schemas.length !== 1) throw new DoctorError('not-found', `no consumer ${target.consumer}${schemas.length > 1 ? ' in one schema only (give its schema)' : ''}`, 'consumer');
    schema = schemas[0]!;
    consumer = target.consumer;
    svc = found;
    streamId = m[2]!;
  }

  const open = await openDeadLettersOf(db, schema, consumer, svc.service, streamId);
  const applied = await appliedVersion(db, schema, consumer, svc.service, streamId);
  const where = `${svc.service}/${streamId}`;
  let deliver: EventEnvelope[];
  const changes: string[] = [];
  if (open.length > 0) {
    const versions = [...new Set(open.map((d) => d.stream_version!))].filter((v) => v > applied);
    const held = versions.length > 0 ? await readSource(db, scope, svc, streamId, Math.min(...versions) - 1, Math.max(...versions)) : [];
    deliver = held.filter((e) => versions.includes(e.streamVersion));
    const lost = versions.filter((v) => !deliver.some((e) => e.streamVersion === v));
    changes.push(`resolve ${open.length} open dead letter(s) of ${consumer} on ${where} as replayed: ${open.map((d) => `${schema}:${d.id} (v${d.stream_version})`).join(', ')}`);
    if (lost.length > 0) changes.push(`versions ${lost.join(', ')} are not in ${svc.schema}.events: they cannot be delivered again`);
  } else {
    const spec = (scope.consumers ?? []).find((c) => c.schema === schema && c.name === consumer);
    const filter = spec?.filterSubject ?? (opts.nats ? (await opts.nats.durable(consumer).catch(() => undefined))?.filterSubject : undefined) ?? undefined;
    if (!filter) {
      throw new DoctorError('refused', `${consumer} has no open dead letter on ${where}, and its filter is unknown here: republish the relay of ${svc.service} instead`, 'stream');
    }
    const match = filterMatch(filter, scope.subjectsPrefix ?? 'trm', svc.service);
    const { rows } = await sql<{ v: number | null }>`select max(e.stream_version)::int as v from ${sql.table(`${svc.schema}.events`)} e
      where e.stream_id = ${streamId} and e.stream_version > ${applied} and ${matchCondition(match, 'e')}`.execute(db);
    const v = rows[0]?.v ?? null;
    if (v === null) throw new DoctorError('refused', `nothing to replay: ${consumer} is at version ${applied} of ${where} and the source holds nothing after it that ${consumer} takes`, 'stream');
    deliver = await readSource(db, scope, svc, streamId, v - 1, v);
  }
  if (deliver.length > 0) {
    const top = deliver.at(-1)!.streamVersion;
    changes.push(`deliver again ${deliver.map((e) => `v${e.streamVersion} ${e.type} (${e.eventId})`).join(', ')}; ${consumer} then applies versions ${applied + 1}–${top} of ${where} from the source`);
  }
  const summary = `replay ${where} for ${consumer} (applied up to v${applied})`;
  if (dryRun) return { action: 'replay', dryRun, changed: false, summary, changes, outcome: null };
  if (deliver.length === 0 && open.length === 0) return { action: 'replay', dryRun, changed: false, summary, changes, outcome: null };
  if (deliver.length > 0 && !opts.redeliver) throw new DoctorError('refused', 'replaying needs the bus to deliver the events again (NATS_URL, or the running host\'s operator route)');

  const stamp = await resolve(db, schema, consumer, svc.service, streamId, open.map((d) => d.id), 'replayed');
  if (deliver.length === 0) return { action: 'replay', dryRun, changed: true, summary, changes, outcome: { state: 'done', appliedVersion: applied, detail: 'resolved; nothing to deliver again' } };
  try {
    await opts.redeliver!(deliver);
  } catch (err) {
    await reopen(db, schema, open.map((d) => d.id), stamp);
    throw new DoctorError('refused', `could not deliver the events again (${err instanceof Error ? err.message : String(err)}): the dead letters are open again. ${PUBLISH_HINT(svc.service)}`);
  }
  const outcome = await awaitOutcome(db, schema, consumer, svc.service, streamId, deliver.at(-1)!.streamVersion, stamp, opts.waitMs ?? 10_000);
  return { action: 'replay', dryRun, changed: true, summary, changes, outcome };
}

/** With one NATS user per service, only the source's may publish its events (nats-auth.ts). */
const PUBLISH_HINT = (source: string) =>
  `With per-service NATS users only ${source}'s user may publish its events: replay through a host of ${source}, or run the command with NATS_USER/NATS_PASSWORD of ${source}.`;

/** Resolves dead letters under the consumer's stream lock; returns the resolution time (to undo it). */
async function resolve(db: Kysely<any>, schema: string, consumer: string, source: string, streamId: string, ids: string[], resolution: 'replayed' | 'discarded'): Promise<Date> {
  const stamp = await dbNow(db);
  if (ids.length === 0) return stamp;
  await db.transaction().execute(async (tx) => {
    await lockStream(tx, consumer, source, streamId);
    await sql`update ${sql.table(`${schema}.dead_letters`)} set resolved_at = ${stamp.toISOString()}::timestamptz, resolution = ${resolution}
      where id = any(${`{${ids.join(',')}}`}::bigint[]) and resolved_at is null`.execute(tx);
  });
  return stamp;
}

async function reopen(db: Kysely<any>, schema: string, ids: string[], stamp: Date): Promise<void> {
  if (ids.length === 0) return;
  await sql`update ${sql.table(`${schema}.dead_letters`)} set resolved_at = null, resolution = null
    where id = any(${`{${ids.join(',')}}`}::bigint[]) and resolution = 'replayed' and resolved_at = ${stamp.toISOString()}::timestamptz`.execute(db);
}

/**
 * Discards a dead letter: resolved `discarded`, and the consumer's position moves past its version
 * when that version is the next one (its event, and any versions between, are then never applied
 * by this consumer: the plan lists them). Later versions of the stream that were dead-lettered only
 * because they waited behind it are replayed. A dead letter that itself waits behind a lower one
 * is refused: act on the lower one.
 */
export async function discardDeadLetter(db: Kysely<any>, scope: DoctorScope, ref: string, opts: RepairOptions = {}): Promise<RepairResult> {
  const dryRun = opts.dryRun ?? true;
  const { schema, row } = await findDeadLetter(db, scope, ref);
  const id = `${schema}:${row.id}`;
  if (row.resolved_at !== null) throw new DoctorError('refused', `dead letter ${id} was already resolved (${row.resolution} at ${iso(row.resolved_at)})`, 'deadLetter');
  if (row.stream_id === null || row.source === null || row.stream_version === null) {
    const changes = [`resolve dead letter ${id} (${row.subject}: ${row.error}) as discarded`];
    const summary = `discard ${id} of ${row.consumer}`;
    if (dryRun) return { action: 'discard', dryRun, changed: false, summary, changes, outcome: null };
    await sql`update ${sql.table(`${schema}.dead_letters`)} set resolved_at = now(), resolution = 'discarded' where id = ${row.id}::bigint and resolved_at is null`.execute(db);
    return { action: 'discard', dryRun, changed: true, summary, changes, outcome: { state: 'done', appliedVersion: null, detail: 'discarded' } };
  }
  const consumer = row.consumer;
  const source = row.source;
  const streamId = row.stream_id;
  const v = row.stream_version;
  const where = `${source}/${streamId}`;
  const open = await openDeadLettersOf(db, schema, consumer, source, streamId);
  const lowest = open[0]!;
  if (lowest.id !== row.id && lowest.stream_version! < v) {
    throw new DoctorError('refused', `dead letter ${id} (v${v}) waits behind ${schema}:${lowest.id} (v${lowest.stream_version}) of the same stream: replay or discard that one (this one is delivered again with it)`, 'deadLetter');
  }
  const svc = serviceOf(scope, source);
  const applied = await appliedVersion(db, schema, consumer, source, streamId);
  const followers = open.filter((d) => d.id !== row.id);
  if (followers.length > 0 && !svc) throw new DoctorError('refused', `later versions wait behind ${id}, and ${source}'s events table is not in this scope: they could not be delivered again`, 'deadLetter');
  const changes = [`resolve dead letter ${id} (v${v} ${row.payload_type ?? ''}: ${row.error}) as discarded`];
  let skipped: EventEnvelope[] = [];
  if (applied < v) {
    skipped = svc ? await readSource(db, scope, svc, streamId, applied, v) : [];
    changes.push(
      `move ${consumer} on ${where} from version ${applied} to ${v}: ${consumer} never applies ${skipped.length > 0 ? skipped.map((e) => `v${e.streamVersion} ${e.type} (${e.eventId})`).join(', ') : `versions ${applied + 1}–${v}`}`,
    );
  } else {
    changes.push(`${consumer} is already at version ${applied} of ${where}: its position does not move`);
  }
  let deliver: EventEnvelope[] = [];
  if (followers.length > 0) {
    const versions = [...new Set(followers.map((d) => d.stream_version!))].filter((x) => x > v);
    deliver = svc && versions.length > 0 ? (await readSource(db, scope, svc, streamId, Math.min(...versions) - 1, Math.max(...versions))).filter((e) => versions.includes(e.streamVersion)) : [];
    changes.push(`replay the ${followers.length} dead letter(s) that waited behind it: ${followers.map((d) => `${schema}:${d.id} (v${d.stream_version})`).join(', ')}`);
    if (deliver.length > 0) changes.push(`deliver again ${deliver.map((e) => `v${e.streamVersion} ${e.type}`).join(', ')}; ${consumer} then applies versions ${v + 1}–${deliver.at(-1)!.streamVersion} from the source`);
  }
  const summary = `discard ${id}: ${where} v${v} for ${consumer}`;
  if (dryRun) return { action: 'discard', dryRun, changed: false, summary, changes, outcome: null };
  if (deliver.length > 0 && !opts.redeliver) {
    throw new DoctorError('refused', `${followers.length} later version(s) wait behind ${id}: delivering them again needs the bus (NATS_URL, or the running host's operator route)`);
  }

  const stamp = await dbNow(db);
  await db.transaction().execute(async (tx) => {
    await lockStream(tx, consumer, source, streamId);
    const { rows } = await sql<{ id: string }>`update ${sql.table(`${schema}.dead_letters`)} set resolved_at = ${stamp.toISOString()}::timestamptz, resolution = 'discarded'
      where id = ${row.id}::bigint and resolved_at is null returning id::text as id`.execute(tx);
    if (rows.length === 0) throw new DoctorError('refused', `dead letter ${id} was resolved meanwhile`, 'deadLetter');
    await sql`insert into ${sql.table(`${schema}.consumer_streams`)} as c (consumer, source, stream_id, version, updated_at)
      values (${consumer}, ${source}, ${streamId}, ${v}, now())
      on conflict (consumer, source, stream_id) do update set version = excluded.version, updated_at = excluded.updated_at
      where c.version < excluded.version`.execute(tx);
    if (followers.length > 0) {
      await sql`update ${sql.table(`${schema}.dead_letters`)} set resolved_at = ${stamp.toISOString()}::timestamptz, resolution = 'replayed'
        where id = any(${`{${followers.map((d) => d.id).join(',')}}`}::bigint[]) and resolved_at is null`.execute(tx);
    }
  });
  if (deliver.length === 0) {
    return { action: 'discard', dryRun, changed: true, summary, changes, outcome: { state: 'done', appliedVersion: Math.max(applied, v), detail: `${consumer} is past version ${v} of ${where}` } };
  }
  try {
    await opts.redeliver!(deliver);
  } catch (err) {
    await reopen(db, schema, followers.map((d) => d.id), stamp);
    throw new DoctorError('refused', `discarded ${id}, but could not deliver the later versions again (${err instanceof Error ? err.message : String(err)}): their dead letters are open again; replay them. ${PUBLISH_HINT(source)}`);
  }
  const outcome = await awaitOutcome(db, schema, consumer, source, streamId, deliver.at(-1)!.streamVersion, stamp, opts.waitMs ?? 10_000);
  return { action: 'discard', dryRun, changed: true, summary, changes, outcome };
}

export interface ResetOptions {
  dryRun?: boolean;
  /** Only 'start' (the beginning of the log). */
  to?: 'start';
  /** How long after a relay's leader stopped renewing its lease before another may lead (the relays' policy, default 10 s). */
  leaseTtlMs?: number;
  /** How long to wait for a relay to take the lead again after the reset (default 10 s). */
  waitMs?: number;
}

/**
 * Moves a relay's checkpoint back to the start of its log, so it publishes every event of its
 * schema again; consumers drop what they applied (their stream positions) and apply what they
 * lack. A running relay keeps its position in memory, so the doctor first takes the relay's lease
 * (the relays then stand by), waits until the leader's own lease has run out (it has stopped
 * publishing by then), resets the checkpoint and gives the lease back: whichever replica leads
 * next reads the checkpoint from the table, from the start.
 */
export async function resetCheckpoint(db: Kysely<any>, scope: DoctorScope, relay: string, opts: ResetOptions = {}): Promise<RepairResult> {
  const dryRun = opts.dryRun ?? true;
  const m = /^([a-z_][a-z0-9_]*)\.([A-Za-z0-9_-]+)$/.exec(relay);
  if (!m) throw new DoctorError('invalid', `relay ${JSON.stringify(relay)}: expected <schema>.<name>, e.g. referrals.referrals`, 'relay');
  const [, schema, name] = m as unknown as [string, string, string];
  if (!serviceBySchema(scope, schema)) throw new DoctorError('not-found', `no service schema ${schema}`, 'relay');
  if ((opts.to ?? 'start') !== 'start') throw new DoctorError('invalid', 'only --to start is supported', 'to');
  const checkpoint = await loadRelayCheckpoint(db, schema, name);
  const mark = await loadStreamMark(db, schema, name);
  const leases = sql.table(`${schema}.relay_leases`);
  const leaseKey = `${schema}.${name}`;
  const { rows: ls } = await sql<{ holder: string; expires_at: unknown; live: boolean }>`
    select holder, expires_at, expires_at > now() as live from ${leases} where relay = ${leaseKey}`.execute(db);
  if (!checkpoint && !ls[0]) throw new DoctorError('not-found', `relay ${relay} has never run (no checkpoint, no lease)`, 'relay');
  const { rows: total } = await sql<{ n: number }>`select count(*)::int as n from (select 1 from ${sql.table(`${schema}.events`)} limit 10000000) x`.execute(db);
  const changes: string[] = [];
  const summary = `reset relay ${relay} to the start of its log`;
  if (!checkpoint) {
    changes.push(`relay ${relay} has no checkpoint: it already publishes from the start`);
    return { action: 'reset-checkpoint', dryRun, changed: false, summary, changes, outcome: null };
  }
  const lease = ls[0];
  if (lease?.live) changes.push(`take the lease of ${relay} from ${lease.holder} (valid until ${iso(lease.expires_at)}) and wait until it has run out, so the relay stops publishing from its position in memory`);
  changes.push(`delete the checkpoint of ${relay} (transaction ${checkpoint.transactionId}, position ${checkpoint.globalPosition}${mark ? `, stream ${mark.created} seq ${mark.seq}` : ''})`);
  changes.push(`the relay publishes all ${total[0]!.n} events of ${schema} again; consumers drop those they applied and apply those they lack`);
  if (dryRun) return { action: 'reset-checkpoint', dryRun, changed: false, summary, changes, outcome: null };

  const holder = `bus-doctor:${randomUUID()}`;
  const ttlMs = opts.leaseTtlMs ?? 10_000;
  const previous = await db.transaction().execute(async (tx) => {
    const { rows } = await sql<{ holder: string; expires_at: unknown }>`select holder, expires_at from ${leases} where relay = ${leaseKey} for update`.execute(tx);
    // Held for as long as the current leader's lease may still run, and some: released below.
    const holdMs = ttlMs + 60_000;
    await sql`insert into ${leases} as l (relay, holder, expires_at, acquired_at) values (${leaseKey}, ${holder}, now() + ${`${holdMs} milliseconds`}::interval, now())
      on conflict (relay) do update set holder = excluded.holder, expires_at = greatest(excluded.expires_at, l.expires_at + interval '30 seconds'), acquired_at = excluded.acquired_at`.execute(tx);
    return rows[0];
  });
  try {
    // The leader finds out at its next renewal or batch (both within its lease): wait it out.
    if (previous && previous.holder !== holder) {
      const until = new Date(iso(previous.expires_at));
      const deadline = Date.now() + ttlMs + 60_000;
      while ((await dbNow(db)) <= until && Date.now() < deadline) await sleep(100);
    }
    await resetRelayCheckpoint(db, schema, name);
  } finally {
    await sql`delete from ${leases} where relay = ${leaseKey} and holder = ${holder}`.execute(db);
  }
  // Whichever relay leads next reads the (now absent) checkpoint and starts from the beginning.
  const until = Date.now() + (opts.waitMs ?? 10_000);
  for (;;) {
    const { rows } = await sql<{ holder: string }>`select holder from ${leases} where relay = ${leaseKey} and expires_at > now()`.execute(db);
    if (rows[0]) {
      return { action: 'reset-checkpoint', dryRun, changed: true, summary, changes, outcome: { state: 'republishing', appliedVersion: null, detail: `relay ${rows[0].holder} took the lead and publishes ${schema} from the start` } };
    }
    if (Date.now() >= until) {
      return { action: 'reset-checkpoint', dryRun, changed: true, summary, changes, outcome: { state: 'pending', appliedVersion: null, detail: `checkpoint reset; no relay of ${schema} has taken the lead yet (it publishes from the start when one runs)` } };
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// Transports

const encoder = new TextEncoder();

/**
 * Publishes an event again with its event id as message id. JetStream drops a repeated message id
 * within its duplicate window (2 min): an event published that recently is then published under
 * a message id of its own (the consumer reads the envelope, not the id).
 */
async function publishAgain(js: JetStreamClient, prefix: string, e: EventEnvelope): Promise<void> {
  const subject = eventSubject(prefix, e.service, e.type);
  const data = encoder.encode(JSON.stringify(e));
  const ack = await js.publish(subject, data, { msgID: e.eventId, timeout: 10_000 });
  if (ack.duplicate) await js.publish(subject, data, { msgID: `${e.eventId}.replay.${Date.now()}`, timeout: 10_000 });
}

/** Delivers events again through `bus`: what the host's operator route uses. */
export function redelivererFor(bus: Bus): Redeliver {
  if (bus instanceof JetStreamBus) {
    const js = jetstream(bus.nc);
    return async (envelopes) => {
      for (const e of envelopes) await publishAgain(js, bus.subjectsPrefix, e);
    };
  }
  // The in-process bus resolves once every durable has settled the message: the consumer has applied it, or dead-lettered it.
  return async (envelopes) => {
    for (const e of envelopes) await bus.publish({ subject: eventSubject(bus.subjectsPrefix, e.service, e.type), msgId: e.eventId, data: encoder.encode(JSON.stringify(e)) });
  };
}

function durableView(c: ConsumerInfo): DurableView {
  return {
    name: c.name,
    filterSubject: c.config.filter_subject ?? c.config.filter_subjects?.join(',') ?? null,
    numPending: c.num_pending,
    numAckPending: c.num_ack_pending,
    numRedelivered: c.num_redelivered,
    deliveredSeq: c.delivered.stream_seq,
    ackFloorSeq: c.ack_floor.stream_seq,
    maxDeliver: c.config.max_deliver ?? -1,
  };
}

const CONSUMER_NOT_FOUND = 10014;

export function jetStreamInfo(jsm: JetStreamManager, streamName: string): BusInfo {
  return {
    async durable(name) {
      try {
        return durableView(await jsm.consumers.info(streamName, name));
      } catch (err) {
        if (err instanceof JetStreamApiError && err.code === CONSUMER_NOT_FOUND) return undefined;
        throw err;
      }
    },
    async stream() {
      const info = await jsm.streams.info(streamName);
      return {
        name: streamName,
        created: info.created,
        firstSeq: info.state.first_seq,
        lastSeq: info.state.last_seq,
        messages: info.state.messages,
        bytes: info.state.bytes,
        maxAgeMs: millis(info.config.max_age),
        duplicateWindowMs: millis(info.config.duplicate_window ?? 0),
      };
    },
    async durables() {
      const out: DurableView[] = [];
      for await (const c of jsm.consumers.list(streamName)) out.push(durableView(c));
      return out.sort((a, b) => a.name.localeCompare(b.name));
    },
  };
}

/** Stream and durable information of a host's bus, when it is JetStream. */
export async function busInfoFor(bus: Bus): Promise<BusInfo | undefined> {
  if (!(bus instanceof JetStreamBus)) return undefined;
  return jetStreamInfo(await jetstreamManager(bus.nc), bus.streamName);
}

/**
 * The standalone doctor's own NATS connection: reads the stream and durables (it never creates or
 * changes them, unlike a service's bus) and delivers events again for a replay.
 */
export async function connectDoctorNats(opts: {
  servers: string | string[];
  streamName?: string;
  subjectsPrefix?: string;
  /** With per-service NATS users: a user that may publish the source's events (replays) and read the stream's information. */
  user?: string;
  pass?: string;
}): Promise<{ info: BusInfo; redeliver: Redeliver; close(): Promise<void> }> {
  const nc: NatsConnection = await connect({
    servers: opts.servers,
    name: 'trm-bus-doctor',
    maxReconnectAttempts: 3,
    reconnectTimeWait: 500,
    ...(opts.user ? { user: opts.user, pass: opts.pass ?? '' } : {}),
  });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const prefix = opts.subjectsPrefix ?? 'trm';
  return {
    info: jetStreamInfo(jsm, opts.streamName ?? 'TRM'),
    redeliver: async (envelopes) => {
      for (const e of envelopes) await publishAgain(js, prefix, e);
    },
    close: () => nc.drain(),
  };
}

// ---------------------------------------------------------------------------------------------
// Text

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The report as an operator reads it in a terminal. */
export function formatReport(r: BusReport): string {
  const out: string[] = [];
  out.push(`bus report at ${r.generatedAt}: ${r.healthy ? 'healthy' : `${r.findings.length} finding(s)`}`);
  out.push('');
  out.push('consumers');
  out.push(
    table(
      ['schema', 'consumer', 'filter', 'inbox', 'streams', 'dead letters', 'lag (events/streams)', 'gaps', 'pending'],
      r.consumers.map((c) => [
        c.schema,
        c.name,
        c.filterSubject ?? '(unknown)',
        String(c.inbox),
        String(c.streamsTracked),
        `${c.deadLetters.open} open / ${c.deadLetters.resolved} resolved`,
        c.lag.length === 0 ? '0' : c.lag.map((l) => `${l.source} ${l.events}${l.capped ? '+' : ''}/${l.streams}`).join(', '),
        String(c.lag.reduce((n, l) => n + l.gapStreams, 0)),
        c.pending === null ? '-' : String(c.pending),
      ]),
    ),
  );
  const dls = r.consumers.flatMap((c) => c.deadLetters.items);
  if (dls.length > 0) {
    out.push('');
    out.push('open dead letters');
    out.push(
      table(
        ['id', 'consumer', 'stream', 'version', 'event', 'blocking', 'error'],
        dls.map((d) => [
          d.id,
          d.consumer,
          d.streamId ? `${d.source}/${d.streamId}` : d.subject,
          d.version === null ? '-' : String(d.version),
          `${d.type ?? ''} ${d.eventId ?? ''}`.trim(),
          d.waitsBehind ? `waits behind ${d.waitsBehind}` : d.blocksStream ? 'yes' : 'no',
          clip(d.error, 80),
        ]),
      ),
    );
  }
  const gaps = r.consumers.flatMap((c) => c.gaps.map((g) => ({ c: c.name, g })));
  if (gaps.length > 0) {
    out.push('');
    out.push('gaps (behind the source, nothing pending)');
    out.push(table(['consumer', 'stream', 'applied', 'missing', 'oldest'], gaps.map(({ c, g }) => [c, `${g.source}/${g.streamId}`, String(g.applied), `v${g.firstMissing}–v${g.lastMissing} (${g.events})`, g.oldestAt])));
  }
  out.push('');
  out.push('relays');
  out.push(
    table(
      ['relay', 'checkpoint (tx/pos)', 'newest (tx/pos)', 'behind', 'lease holder', 'lease expires'],
      r.relays.map((x) => [
        x.relay,
        x.checkpoint ? `${x.checkpoint.transactionId}/${x.checkpoint.globalPosition}` : '(start)',
        x.newest ? `${x.newest.transactionId}/${x.newest.globalPosition}` : '(no events)',
        `${x.eventsBehind}${x.capped ? '+' : ''}`,
        x.lease?.holder ?? '-',
        x.lease ? `${x.lease.expiresAt}${x.lease.expired ? ' (expired)' : ''}` : '-',
      ]),
    ),
  );
  if (r.stream) {
    out.push('');
    out.push(`stream ${r.stream.name}: created ${r.stream.created}, seq ${r.stream.firstSeq}–${r.stream.lastSeq}, ${r.stream.messages} messages, ${r.stream.bytes} bytes, max age ${Math.round(r.stream.maxAgeMs / 86_400_000)} d`);
    const ds = [...r.consumers.flatMap((c) => (c.durable ? [c.durable] : [])), ...r.otherDurables];
    if (ds.length > 0) {
      out.push(
        table(
          ['durable', 'filter', 'pending', 'ack pending', 'redelivered', 'delivered seq', 'ack floor', 'max deliver'],
          ds.map((d) => [d.name, d.filterSubject ?? '-', String(d.numPending), String(d.numAckPending), String(d.numRedelivered), String(d.deliveredSeq), String(d.ackFloorSeq), String(d.maxDeliver)]),
        ),
      );
    }
  }
  if (r.natsError) out.push(`\nNATS: ${r.natsError}`);
  if (r.findings.length > 0) {
    out.push('');
    out.push('findings');
    for (const f of r.findings) out.push(`- ${f}`);
  }
  return `${out.join('\n')}\n`;
}

export function formatRepair(r: RepairResult): string {
  const out = [`${r.dryRun ? 'dry run: ' : ''}${r.summary}`, r.dryRun ? 'would change:' : 'changes:'];
  for (const c of r.changes) out.push(`  - ${c}`);
  if (r.dryRun) out.push('nothing changed; run again with --apply to do it');
  else if (!r.changed) out.push('nothing to change');
  if (r.outcome) out.push(`outcome: ${r.outcome.state}: ${r.outcome.detail}`);
  return `${out.join('\n')}\n`;
}
