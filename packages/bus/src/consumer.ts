import { type EventEnvelope, EventEnvelopeSchema } from '@trm/contracts';
import { type Kysely, type Transaction, sql } from 'kysely';
import type { Registry } from 'prom-client';
import type { Bus, Delivery, Subscription } from './bus.js';
import { type Logger, errorMessage, silentLogger } from './log.js';
import { counter, gauge } from './metrics.js';

export type ConsumerOptions = ConsumerBase & ConsumerHandler;

interface ConsumerBase {
  db: Kysely<any>;
  /** Schema holding this consumer's inbox and dead_letters (the consuming service's). */
  schema: string;
  /** Durable name, inbox key and metrics label: keep it stable across releases. */
  name: string;
  bus: Bus;
  filterSubject: string;
  /** Deliveries before the message is dead-lettered. */
  maxDeliver?: number;
  ackWaitMs?: number;
  /**
   * With batchSize 1: messages handled at once. Above it: batches handled at once. Above 1, order
   * across events is not kept; at 1 (the default) events are handled in delivery order.
   */
  concurrency?: number;
  /**
   * Most deliveries handled in one transaction, all or nothing; a failed batch falls back to one
   * transaction per delivery. Default 1. Batches form by themselves: a delivery that finds the
   * consumer idle is handled at once (alone, or with those that arrived in the same turn), and the
   * deliveries that arrive while a batch runs make up the next one. So a quiet consumer adds no
   * delay and a busy one pays one transaction per batch, not per event.
   */
  batchSize?: number;
  /** Delay before redelivery after the n-th failed delivery. */
  retryDelayMs?: (deliveryCount: number) => number;
  logger?: Logger;
  metrics?: Registry;
  /** How often the pending-messages gauge is refreshed. */
  lagIntervalMs?: number;
}

/** The handler: one event at a time, or the new events of a batch at once (in delivery order). */
export type ConsumerHandler =
  | {
      /** Runs inside the transaction that records the event in the inbox: its writes commit with it. */
      handle: (tx: Transaction<any>, envelope: EventEnvelope) => Promise<void>;
      handleBatch?: never;
    }
  | {
      /**
       * Runs once per transaction with the events it records in the inbox (never a duplicate), in
       * delivery order: set-based writes for a whole batch. Must equal `handle` on each in turn.
       */
      handleBatch: (tx: Transaction<any>, envelopes: EventEnvelope[]) => Promise<void>;
      handle?: never;
    };

/**
 * Deliveries the transport may still make after we dead-letter, so that a dead-letter write
 * that fails (database down) is retried on a later delivery instead of JetStream giving up in
 * silence.
 */
const TRANSPORT_EXTRA_DELIVERIES = 5;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const defaultRetryDelayMs = (deliveryCount: number): number => Math.min(500 * 2 ** (deliveryCount - 1), 30_000);

class InvalidEnvelope extends Error {}

export async function startConsumer(opts: ConsumerOptions): Promise<Subscription> {
  const { db, schema, name, bus } = opts;
  // JetStream durable names cannot hold '.', '*', '>' or spaces; the in-process bus keeps the same rule.
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new TypeError(`Consumer name ${JSON.stringify(name)} must match [A-Za-z0-9_-]+`);
  const maxDeliver = opts.maxDeliver ?? 5;
  const retryDelayMs = opts.retryDelayMs ?? defaultRetryDelayMs;
  const logger = opts.logger ?? silentLogger;
  const messages = counter(opts.metrics, 'trm_consumer_messages_total', 'Deliveries by outcome', ['consumer', 'outcome']);
  const deadLetters = counter(opts.metrics, 'trm_dead_letters_total', 'Messages a consumer gave up on', ['consumer']);
  const pendingGauge = gauge(opts.metrics, 'trm_consumer_pending', 'Messages not yet acknowledged by the consumer', ['consumer']);
  const inbox = sql.table(`${schema}.inbox`);
  const decoder = new TextDecoder();
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
    return result.data;
  };

  const deadLetter = async (d: Delivery, err: unknown) => {
    const eventId = UUID.test(d.msgId) ? d.msgId : null;
    let payload: string | null = decoder.decode(d.data);
    try {
      JSON.parse(payload);
    } catch {
      payload = null;
    }
    await sql`
      insert into ${sql.table(`${schema}.dead_letters`)} (consumer, event_id, subject, payload, error, deliveries)
      values (${name}, ${eventId}::uuid, ${d.subject}, ${payload}::jsonb, ${errorMessage(err)}, ${d.deliveryCount})
      on conflict (consumer, event_id) do update
        set error = excluded.error, deliveries = excluded.deliveries, dead_at = now()`.execute(db);
    deadLetters.inc({ consumer: name });
    messages.inc({ consumer: name, outcome: 'dead_letter' });
    logger.error({ consumer: name, eventId: d.msgId, deliveries: d.deliveryCount }, 'message dead-lettered');
  };

  const handleOne = async (d: Delivery): Promise<void> => {
    try {
      const envelope = parse(d);
      const handled = await db.transaction().execute(async (tx) => {
        const { rows } = await sql`insert into ${inbox} (consumer, event_id) values (${name}, ${envelope.eventId}::uuid)
          on conflict do nothing returning event_id`.execute(tx);
        if (rows.length === 0) return false;
        await handleFresh(tx, [envelope]);
        return true;
      });
      d.ack();
      messages.inc({ consumer: name, outcome: handled ? 'handled' : 'duplicate' });
    } catch (err) {
      const poison = err instanceof InvalidEnvelope;
      if (poison || d.deliveryCount >= maxDeliver) {
        try {
          await deadLetter(d, err);
          d.term(errorMessage(err));
        } catch (dlErr) {
          logger.error({ consumer: name, eventId: d.msgId, err: errorMessage(dlErr) }, 'could not record dead letter, will retry');
          d.nak(retryDelayMs(d.deliveryCount));
        }
        return;
      }
      messages.inc({ consumer: name, outcome: 'retry' });
      logger.warn({ consumer: name, eventId: d.msgId, deliveries: d.deliveryCount, err: errorMessage(err) }, 'handler failed, will retry');
      d.nak(retryDelayMs(d.deliveryCount));
    }
  };

  /**
   * Several deliveries in one transaction: one inbox insert and one commit for all of them. If
   * anything in it fails, nothing of it commits and each delivery is handled again on its own,
   * so a failing message neither holds back nor changes the outcome of the others.
   */
  const handleBatch = async (deliveries: Delivery[]): Promise<void> => {
    const parsed: Array<{ d: Delivery; envelope: EventEnvelope; id: string }> = [];
    for (const d of deliveries) {
      try {
        const envelope = parse(d);
        parsed.push({ d, envelope, id: envelope.eventId.toLowerCase() });
      } catch {
        await handleOne(d);
      }
    }
    if (parsed.length === 0) return;
    let handled: Set<string>;
    try {
      handled = await db.transaction().execute(async (tx) => {
        // Sorted: two batches inserting the same ids (a redelivery racing) lock them in one order.
        const ids = [...new Set(parsed.map((p) => p.id))].sort();
        const { rows } = await sql<{ event_id: string }>`insert into ${inbox} (consumer, event_id)
          values ${sql.join(ids.map((id) => sql`(${name}, ${id}::uuid)`))}
          on conflict do nothing returning event_id::text as event_id`.execute(tx);
        const fresh = new Set(rows.map((r) => r.event_id));
        const done = new Set<string>();
        const todo: EventEnvelope[] = [];
        for (const p of parsed) {
          if (!fresh.has(p.id) || done.has(p.id)) continue;
          todo.push(p.envelope);
          done.add(p.id);
        }
        await handleFresh(tx, todo);
        return done;
      });
    } catch {
      for (const p of parsed) await handleOne(p.d);
      return;
    }
    for (const p of parsed) {
      p.d.ack();
      const first = handled.delete(p.id);
      messages.inc({ consumer: name, outcome: first ? 'handled' : 'duplicate' });
    }
  };

  const batchSize = Math.max(1, opts.batchSize ?? 1);
  const workers = Math.max(1, opts.concurrency ?? 1);
  const waiting: Array<{ d: Delivery; settled: () => void }> = [];
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
    if (batchSize === 1) return handleOne(d);
    return new Promise<void>((settled) => {
      waiting.push({ d, settled });
      if (!pumpScheduled && running < workers) {
        // Whatever else arrives in this turn joins the batch; a lone message does not wait.
        pumpScheduled = true;
        setImmediate(pump);
      }
    });
  };

  const subscription = await bus.consume(
    {
      durable: name,
      filterSubject: opts.filterSubject,
      maxDeliver: maxDeliver + TRANSPORT_EXTRA_DELIVERIES,
      ackWaitMs: opts.ackWaitMs,
      // Deliveries waiting for a batch count against the transport's concurrency: room for the
      // batches running and one more filling up meanwhile.
      concurrency: batchSize === 1 ? workers : batchSize * (workers + 1),
    },
    onDelivery,
  );

  const refreshLag = async () => {
    const pending = await subscription.pending();
    if (pending !== undefined) pendingGauge.set({ consumer: name }, pending);
  };
  const timer = setInterval(() => void refreshLag().catch(() => {}), opts.lagIntervalMs ?? 10_000);
  timer.unref();

  return {
    stop: async () => {
      clearInterval(timer);
      await subscription.stop();
    },
    pending: () => subscription.pending(),
  };
}
