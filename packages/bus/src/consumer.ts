import { type EventEnvelope, EventEnvelopeSchema } from '@trm/contracts';
import { computeEventHash } from '@trm/event-store';
import { type Kysely, type Transaction, sql } from 'kysely';
import type { Registry } from 'prom-client';
import { type Bus, type Delivery, type Subscription, eventSubject, subjectMatches } from './bus.js';
import { isTransientFailure } from './faults.js';
import { type Logger, errorMessage, silentLogger } from './log.js';
import { counter, gauge } from './metrics.js';
import type { EventSource } from './source.js';

export type ConsumerOptions = ConsumerBase & ConsumerHandler;

export interface ConsumerBase {
  db: Kysely<any>;
  /** Schema holding this consumer's inbox, stream positions and dead letters (the consuming service's). */
  schema: string;
  /** Durable name, inbox key and metrics label: keep it stable across releases. */
  name: string;
  bus: Bus;
  filterSubject: string;
  /**
   * Where the events themselves are read (the source services' events tables). With it, a
   * delivery only says "version v of this stream exists": the consumer applies what the source
   * holds up to v, in version order, and refuses a message the source does not hold. Without it
   * (tests of the bus itself) the delivered envelopes are applied, still in version order: one that
   * arrives after a gap waits for the missing versions.
   */
  source?: EventSource;
  /** Failed deliveries of one message, for reasons of its own, before it is dead-lettered. Failures of the database never count. */
  maxDeliver?: number;
  ackWaitMs?: number;
  /**
   * With batchSize 1: messages handled at once. Above it: batches handled at once. Order within a
   * stream is kept whatever the concurrency (and across replicas): it rests on the stream
   * positions, not on delivery order.
   */
  concurrency?: number;
  /**
   * Most deliveries handled in one transaction, all or nothing; a failed batch falls back to one
   * transaction per delivery. Default 1. Batches form by themselves: a delivery that finds the
   * consumer idle is handled at once (alone, or with those that arrived in the same turn), and the
   * deliveries that arrive while a batch runs make up the next one.
   */
  batchSize?: number;
  /** Delay before redelivery after the n-th failed delivery (capped: retries go on as long as the fault lasts). */
  retryDelayMs?: (deliveryCount: number) => number;
  /** A consumer whose deliveries have all failed for longer than this reports itself not ready. Default 60 s. */
  unhealthyAfterMs?: number;
  /**
   * Without a source: how long a newer version may wait for a missing earlier one before it is
   * dead-lettered (visibly, holding back its stream). Measured from its first wait, not counted in
   * deliveries, which an outage has already used up. Default 10 minutes.
   */
  gapTimeoutMs?: number;
  logger?: Logger;
  metrics?: Registry;
  /** How often the pending-messages gauge is refreshed. */
  lagIntervalMs?: number;
}

/** The handler: one event at a time, or the new events of a batch at once (in stream order). */
export type ConsumerHandler =
  | {
      /** Runs inside the transaction that records the event: its writes commit with it. */
      handle: (tx: Transaction<any>, envelope: EventEnvelope) => Promise<void>;
      handleBatch?: never;
    }
  | {
      /**
       * Runs once per transaction with the events it applies (never a duplicate), each stream's in
       * version order: set-based writes for a whole batch. Must equal `handle` on each in turn.
       */
      handleBatch: (tx: Transaction<any>, envelopes: EventEnvelope[]) => Promise<void>;
      handle?: never;
    };

export interface ConsumerHealth {
  consumer: string;
  /** When the current run of failures began; null while the consumer succeeds. */
  failingSince: Date | null;
  lastError: string | null;
  /** True once it has been failing for longer than `unhealthyAfterMs`. */
  unhealthy: boolean;
}

export interface ConsumerSubscription extends Subscription {
  health(): ConsumerHealth;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const defaultRetryDelayMs = (deliveryCount: number): number => Math.min(500 * 2 ** Math.min(deliveryCount - 1, 10), 30_000);

class InvalidEnvelope extends Error {}

interface Item {
  d: Delivery;
  e: EventEnvelope;
}

type Verdict =
  | { kind: 'applied' }
  | { kind: 'duplicate' }
  | { kind: 'wait'; missing: number }
  /** Recorded as a dead letter and never redelivered; `blocks`: later versions of its stream wait behind it. */
  | { kind: 'reject'; reason: string; blocks: boolean };

/** The stream positions and dead letters of one consumer, in its service's schema. */
export function consumerTables(schema: string) {
  return {
    inbox: sql.table(`${schema}.inbox`),
    streams: sql.table(`${schema}.consumer_streams`),
    deadLetters: sql.table(`${schema}.dead_letters`),
  };
}

/**
 * Takes each (consumer, source, stream) lock in one order (the hashes sorted), so two replicas
 * with overlapping batches queue instead of deadlocking. Advisory locks assign no transaction id:
 * a handler that appends to a stream of its own takes that stream's lock before anything here has
 * written, so the global order never inverts a stream's versions.
 */
async function lockStreams(tx: Transaction<any>, consumer: string, pairs: ReadonlyArray<{ src: string; s: string }>): Promise<void> {
  const keys = JSON.stringify(pairs.map((p) => `${consumer}|${p.src}|${p.s}`));
  await sql`select count(pg_advisory_xact_lock(h))::int as n
    from (select hashtextextended(k, 0) as h from jsonb_array_elements_text(${keys}::jsonb) as k order by 1) as locks`.execute(tx);
}

export async function startConsumer(opts: ConsumerOptions): Promise<ConsumerSubscription> {
  const { db, schema, name, bus } = opts;
  // JetStream durable names cannot hold '.', '*', '>' or spaces; the in-process bus keeps the same rule.
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new TypeError(`Consumer name ${JSON.stringify(name)} must match [A-Za-z0-9_-]+`);
  const maxDeliver = opts.maxDeliver ?? 5;
  const retryDelayMs = opts.retryDelayMs ?? defaultRetryDelayMs;
  const unhealthyAfterMs = opts.unhealthyAfterMs ?? 60_000;
  const ackWaitMs = opts.ackWaitMs ?? 30_000;
  const logger = opts.logger ?? silentLogger;
  const labels = { consumer: name };
  const messages = counter(opts.metrics, 'trm_consumer_messages_total', 'Deliveries by outcome', ['consumer', 'outcome']);
  const deadLetters = counter(opts.metrics, 'trm_dead_letters_total', 'Messages a consumer gave up on', ['consumer']);
  const pendingGauge = gauge(opts.metrics, 'trm_consumer_pending', 'Messages not yet acknowledged by the consumer', ['consumer']);
  const failingGauge = gauge(opts.metrics, 'trm_consumer_failing_seconds', 'How long every delivery of the consumer has been failing (0 when it succeeds)', ['consumer']);
  const filledGauge = counter(opts.metrics, 'trm_consumer_gap_events_total', 'Events a consumer read from the source to fill a gap in a stream', ['consumer']);
  const { inbox, streams, deadLetters: deadLettersTable } = consumerTables(schema);
  const decoder = new TextDecoder();
  const prefix = bus.subjectsPrefix;

  const gapTimeoutMs = opts.gapTimeoutMs ?? 600_000;
  /** When each event first found its stream behind it (no source): the gap's clock. */
  const firstWait = new Map<string, number>();
  const waitingSince = (eventId: string): number => {
    let at = firstWait.get(eventId);
    if (at === undefined) {
      at = Date.now();
      firstWait.set(eventId, at);
    }
    return at;
  };
  let failingSince: number | null = null;
  let lastError: string | null = null;
  const failed = (err: unknown) => {
    failingSince ??= Date.now();
    lastError = errorMessage(err);
  };
  const succeeded = () => {
    failingSince = null;
    lastError = null;
  };

  const handleFresh = async (tx: Transaction<any>, envelopes: EventEnvelope[]): Promise<void> => {
    if (envelopes.length === 0) return;
    if (opts.handleBatch) await opts.handleBatch(tx, envelopes);
    else for (const e of envelopes) await opts.handle(tx, e);
  };

  const parse = (d: Delivery): EventEnvelope => {
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(d.data));
    } catch {
      throw new InvalidEnvelope('message is not JSON');
    }
    const result = EventEnvelopeSchema.safeParse(json);
    // zod's message names the failing paths, not their values.
    if (!result.success) throw new InvalidEnvelope(`not an event envelope: ${result.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    const e = result.data;
    // The subject says which service published it (NATS permissions bind subjects to publishers):
    // an envelope naming another service is refused.
    if (!d.subject.startsWith(`${prefix}.${e.service}.`)) throw new InvalidEnvelope('subject does not match the service of the envelope');
    if (!UUID.test(e.eventId)) throw new InvalidEnvelope('event id is not a UUID');
    let hash: string;
    try {
      // Over the message as sent, not zod's copy (which drops members it does not know).
      const raw = json as EventEnvelope;
      hash = computeEventHash(raw.prevHash, raw);
    } catch {
      throw new InvalidEnvelope('hash cannot be recomputed');
    }
    if (hash !== e.hash) throw new InvalidEnvelope('hash does not match the content');
    return e;
  };

  /** Written outside the handler's transaction, which has failed or already committed. */
  const deadLetter = async (d: Delivery, reason: string, stream?: { source: string; streamId: string; version: number }) => {
    const eventId = UUID.test(d.msgId) ? d.msgId : null;
    let payload: string | null = decoder.decode(d.data);
    try {
      JSON.parse(payload);
    } catch {
      payload = null;
    }
    await sql`
      insert into ${deadLettersTable} (consumer, event_id, subject, payload, error, deliveries, source, stream_id, stream_version)
      values (${name}, ${eventId}::uuid, ${d.subject}, ${payload}::jsonb, ${reason}, ${d.deliveryCount},
              ${stream?.source ?? null}, ${stream?.streamId ?? null}, ${stream?.version ?? null}::int)
      on conflict (consumer, event_id) do update
        set error = excluded.error, deliveries = excluded.deliveries, dead_at = now(),
            source = excluded.source, stream_id = excluded.stream_id, stream_version = excluded.stream_version,
            resolved_at = null, resolution = null`.execute(db);
    deadLetters.inc(labels);
    messages.inc({ consumer: name, outcome: 'dead_letter' });
    logger.error({ consumer: name, eventId: d.msgId, deliveries: d.deliveryCount, reason }, 'message dead-lettered');
  };

  /** Dead-letters then terminates; if the dead letter cannot be written, the message comes back. */
  const giveUp = async (d: Delivery, reason: string, stream?: { source: string; streamId: string; version: number }) => {
    try {
      await deadLetter(d, reason, stream);
      d.term(reason);
    } catch (err) {
      failed(err);
      logger.error({ consumer: name, eventId: d.msgId, err: errorMessage(err) }, 'could not record dead letter, will retry');
      d.nak(retryDelayMs(d.deliveryCount));
    }
  };

  /**
   * One transaction for the items: lock their streams, read how far each was applied, work out
   * what to apply (from the source when there is one) and apply it, each stream in version order.
   */
  const applyItems = (items: Item[]): Promise<Map<Item, Verdict>> =>
    db.transaction().execute(async (tx) => {
      const groups = new Map<string, { src: EventEnvelope['service']; s: string; items: Item[] }>();
      for (const item of items) {
        const key = JSON.stringify([item.e.service, item.e.streamId]);
        const g = groups.get(key) ?? { src: item.e.service, s: item.e.streamId, items: [] };
        g.items.push(item);
        groups.set(key, g);
      }
      const pairs = [...groups.values()].map(({ src, s }) => ({ src, s }));
      await lockStreams(tx, name, pairs);
      const { rows } = await sql<{ src: string; s: string; version: number; blocked_at: number | null }>`
        select r.src, r.s, coalesce(c.version, 0)::int as version,
          (select min(dl.stream_version) from ${deadLettersTable} dl
            where dl.consumer = ${name} and dl.source = r.src and dl.stream_id = r.s and dl.resolved_at is null)::int as blocked_at
        from jsonb_to_recordset(${JSON.stringify(pairs)}::jsonb) as r(src text, s text)
        left join ${streams} c on c.consumer = ${name} and c.source = r.src and c.stream_id = r.s`.execute(tx);
      const position = new Map(rows.map((r) => [JSON.stringify([r.src, r.s]), r]));

      const verdicts = new Map<Item, Verdict>();
      const plans: Array<{ g: { src: EventEnvelope['service']; s: string; items: Item[] }; applied: number; fresh: Item[] }> = [];
      for (const [key, g] of groups) {
        const at = position.get(key)!;
        const fresh: Item[] = [];
        for (const item of g.items) {
          if (item.e.streamVersion <= at.version) verdicts.set(item, { kind: 'duplicate' });
          else if (at.blocked_at !== null) verdicts.set(item, { kind: 'reject', reason: `waits behind the dead-lettered version ${at.blocked_at} of its stream`, blocks: true });
          else fresh.push(item);
        }
        if (fresh.length > 0) plans.push({ g, applied: at.version, fresh: fresh.sort((a, b) => a.e.streamVersion - b.e.streamVersion) });
      }

      const apply: EventEnvelope[] = [];
      const advanced: Array<{ src: string; s: string; v: number }> = [];
      const seen = new Set<string>();
      if (opts.source) {
        const bySource = new Map<EventEnvelope['service'], typeof plans>();
        for (const p of plans) bySource.set(p.g.src, [...(bySource.get(p.g.src) ?? []), p]);
        for (const [src, ps] of bySource) {
          const held = await opts.source.read(tx, src, ps.map((p) => ({ streamId: p.g.s, after: p.applied, upTo: p.fresh.at(-1)!.e.streamVersion })));
          const byStream = new Map<string, EventEnvelope[]>();
          for (const e of held) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
          for (const p of ps) {
            // Only the versions that follow on from the last applied one, without a hole.
            const run: EventEnvelope[] = [];
            for (const e of byStream.get(p.g.s) ?? []) {
              if (e.streamVersion !== p.applied + run.length + 1) break;
              run.push(e);
            }
            const byVersion = new Map(run.map((e) => [e.streamVersion, e]));
            for (const item of p.fresh) {
              const truth = byVersion.get(item.e.streamVersion);
              if (!truth) verdicts.set(item, { kind: 'reject', reason: 'not found at its source', blocks: false });
              else if (truth.eventId !== item.e.eventId || truth.hash !== item.e.hash) verdicts.set(item, { kind: 'reject', reason: 'differs from the event its source holds', blocks: false });
              else verdicts.set(item, seen.has(item.e.eventId) ? { kind: 'duplicate' } : { kind: 'applied' });
              seen.add(item.e.eventId);
            }
            if (run.length === 0) continue;
            filledGauge.inc(labels, Math.max(0, run.length - new Set(p.fresh.map((i) => i.e.eventId)).size));
            apply.push(...run);
            advanced.push({ src: p.g.src, s: p.g.s, v: run.at(-1)!.streamVersion });
          }
        }
      } else {
        for (const p of plans) {
          let next = p.applied + 1;
          const run: EventEnvelope[] = [];
          for (const item of p.fresh) {
            const v = item.e.streamVersion;
            if (v === next) {
              run.push(item.e);
              seen.add(item.e.eventId);
              verdicts.set(item, { kind: 'applied' });
              next++;
            } else if (v < next) {
              // The same version twice in one batch: a redelivery, or a second event claiming it.
              verdicts.set(item, seen.has(item.e.eventId) ? { kind: 'duplicate' } : { kind: 'reject', reason: `another event holds version ${v} of its stream`, blocks: false });
            } else if (Date.now() - waitingSince(item.e.eventId) >= gapTimeoutMs) {
              verdicts.set(item, { kind: 'reject', reason: `version ${next} of its stream never arrived`, blocks: true });
            } else {
              verdicts.set(item, { kind: 'wait', missing: next });
            }
          }
          if (run.length === 0) continue;
          apply.push(...run);
          advanced.push({ src: p.g.src, s: p.g.s, v: next - 1 });
        }
      }

      // What was delivered passed the durable's filter; events read from the source to fill a gap
      // are this consumer's only if their subject would have passed it too.
      const delivered = new Set(items.map((i) => i.e.eventId));
      const mine = apply.filter((e) => delivered.has(e.eventId) || subjectMatches(opts.filterSubject, eventSubject(prefix, e.service, e.type)));
      // The handler first: one that appends to a stream of its own takes that stream's lock before
      // this transaction writes anything, so its events never get a transaction id that sorts them
      // before an earlier version committed by someone else.
      await handleFresh(tx, mine);
      if (advanced.length > 0) {
        await sql`insert into ${streams} as c (consumer, source, stream_id, version, updated_at)
          select ${name}, r.src, r.s, r.v, now() from jsonb_to_recordset(${JSON.stringify(advanced)}::jsonb) as r(src text, s text, v int)
          on conflict (consumer, source, stream_id) do update set version = excluded.version, updated_at = excluded.updated_at
          where c.version < excluded.version`.execute(tx);
      }
      if (mine.length > 0) {
        await sql`insert into ${inbox} (consumer, event_id)
          values ${sql.join(mine.map((e) => sql`(${name}, ${e.eventId}::uuid)`))}
          on conflict do nothing`.execute(tx);
      }
      return verdicts;
    });

  const settle = async (item: Item, verdict: Verdict) => {
    if (verdict.kind !== 'wait') firstWait.delete(item.e.eventId);
    switch (verdict.kind) {
      case 'applied':
        item.d.ack();
        messages.inc({ consumer: name, outcome: 'handled' });
        return;
      case 'duplicate':
        item.d.ack();
        messages.inc({ consumer: name, outcome: 'duplicate' });
        return;
      case 'wait':
        messages.inc({ consumer: name, outcome: 'waiting' });
        logger.debug({ consumer: name, eventId: item.d.msgId, missing: verdict.missing }, 'waiting for an earlier version of its stream');
        // A gap usually fills within moments (the earlier version is in flight elsewhere).
        item.d.nak(Math.min(50 * item.d.deliveryCount, 2_000));
        return;
      case 'reject':
        await giveUp(item.d, verdict.reason, verdict.blocks ? { source: item.e.service, streamId: item.e.streamId, version: item.e.streamVersion } : undefined);
        return;
    }
  };

  const handleOne = async (d: Delivery): Promise<void> => {
    let item: Item;
    try {
      item = { d, e: parse(d) };
    } catch (err) {
      await giveUp(d, errorMessage(err));
      return;
    }
    let verdicts: Map<Item, Verdict>;
    try {
      verdicts = await applyItems([item]);
      succeeded();
    } catch (err) {
      failed(err);
      if (!isTransientFailure(err) && d.deliveryCount >= maxDeliver) {
        await giveUp(d, errorMessage(err), { source: item.e.service, streamId: item.e.streamId, version: item.e.streamVersion });
        return;
      }
      messages.inc({ consumer: name, outcome: 'retry' });
      logger.warn({ consumer: name, eventId: d.msgId, deliveries: d.deliveryCount, err: errorMessage(err) }, 'handler failed, will retry');
      d.nak(retryDelayMs(d.deliveryCount));
      return;
    }
    await settle(item, verdicts.get(item)!);
  };

  /**
   * Several deliveries in one transaction. If it fails for a reason of its own, nothing of it
   * commits and each delivery is handled again on its own, so a failing message neither holds
   * back nor changes the outcome of the others; if the database is away, all come back later.
   */
  const handleBatch = async (deliveries: Delivery[]): Promise<void> => {
    const items: Item[] = [];
    for (const d of deliveries) {
      try {
        items.push({ d, e: parse(d) });
      } catch (err) {
        await giveUp(d, errorMessage(err));
      }
    }
    if (items.length === 0) return;
    let verdicts: Map<Item, Verdict>;
    try {
      verdicts = await applyItems(items);
      succeeded();
    } catch (err) {
      if (isTransientFailure(err)) {
        failed(err);
        messages.inc({ consumer: name, outcome: 'retry' }, items.length);
        logger.warn({ consumer: name, deliveries: items.length, err: errorMessage(err) }, 'batch failed, database unavailable, will retry');
        for (const { d } of items) d.nak(retryDelayMs(d.deliveryCount));
        return;
      }
      for (const { d } of items) await handleOne(d);
      return;
    }
    for (const item of items) await settle(item, verdicts.get(item)!);
  };

  const batchSize = Math.max(1, opts.batchSize ?? 1);
  const workers = Math.max(1, opts.concurrency ?? 1);
  const waiting: Array<{ d: Delivery; settled: () => void }> = [];
  const unsettled = new Set<Delivery>();
  let running = 0;
  let pumpScheduled = false;
  /** Starts batches while a worker is free: each takes up to batchSize of the waiting deliveries. */
  const pump = () => {
    pumpScheduled = false;
    while (running < workers && waiting.length > 0) {
      const batch = waiting.splice(0, batchSize);
      running++;
      const run = batch.length === 1 ? handleOne(batch[0]!.d) : handleBatch(batch.map((b) => b.d));
      void run.finally(() => {
        running--;
        for (const b of batch) b.settled();
        pump();
      });
    }
  };
  const onDelivery = (d: Delivery): Promise<void> => {
    unsettled.add(d);
    const done = () => unsettled.delete(d);
    if (batchSize === 1) return handleOne(d).finally(done);
    return new Promise<void>((settled) => {
      waiting.push({ d, settled });
      if (!pumpScheduled && running < workers) {
        // Whatever else arrives in this turn joins the batch; a lone message does not wait.
        pumpScheduled = true;
        setImmediate(pump);
      }
    }).finally(done);
  };

  const subscription = await bus.consume(
    {
      durable: name,
      filterSubject: opts.filterSubject,
      // Unlimited: the consumer itself decides when to give up, and only once a dead letter is written.
      maxDeliver: -1,
      ackWaitMs,
      // Deliveries waiting for a batch count against the transport's concurrency: room for the
      // batches running and one more filling up meanwhile.
      concurrency: batchSize === 1 ? workers : batchSize * (workers + 1),
    },
    onDelivery,
  );

  // Deliveries waiting for their batch, or in a slow one, are still being worked on: say so
  // before ack wait runs out, so the transport does not hand them to someone else meanwhile.
  const working = setInterval(() => {
    for (const d of unsettled) d.working?.();
  }, Math.max(1_000, Math.floor(ackWaitMs / 3)));
  working.unref();

  const refreshLag = async () => {
    failingGauge.set(labels, failingSince === null ? 0 : (Date.now() - failingSince) / 1000);
    const pending = await subscription.pending();
    if (pending !== undefined) pendingGauge.set(labels, pending);
  };
  const timer = setInterval(() => void refreshLag().catch(() => {}), opts.lagIntervalMs ?? 10_000);
  timer.unref();

  return {
    stop: async () => {
      clearInterval(timer);
      clearInterval(working);
      await subscription.stop();
    },
    pending: () => subscription.pending(),
    health: () => ({
      consumer: name,
      failingSince: failingSince === null ? null : new Date(failingSince),
      lastError,
      unhealthy: failingSince !== null && Date.now() - failingSince > unhealthyAfterMs,
    }),
  };
}
