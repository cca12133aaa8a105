import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  JetStreamApiError,
  StorageType,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { type NatsConnection, nanos } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { Bus, ConsumeOptions, Delivery, DeliveryHandler, OutgoingMessage, PublishAck, StreamState, Subscription } from './bus.js';
import { type Logger, errorMessage, silentLogger, sleep } from './log.js';
import { signalSubject } from './bus.js';

export interface JetStreamBusOptions {
  servers: string | string[];
  streamName?: string;
  subjectsPrefix?: string;
  /** JetStream drops a repeated msgId within this window; the relay's retries fall well inside it. */
  duplicateWindowMs?: number;
  /** Time to wait for one PubAck before publishing again with the same msgId. */
  publishTimeoutMs?: number;
  /** Attempts per publish before giving up (the relay then retries the whole batch). */
  publishAttempts?: number;
  /**
   * Retention of the stream: messages older than this are removed (default 30 days). Nothing is
   * lost with them: PostgreSQL holds every event, and a consumer further behind than this reads
   * the gap from the source (its stream positions say exactly what it lacks).
   */
  maxAgeMs?: number;
  /** Retention by size (default unlimited, -1); the oldest messages go first. */
  maxBytes?: number;
  name?: string;
  /** Credentials of this service's NATS user (see natsServerConfig: each may publish only its own events). */
  user?: string;
  pass?: string;
  logger?: Logger;
}

const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

export async function connectJetStreamBus(opts: JetStreamBusOptions): Promise<JetStreamBus> {
  const nc = await connect({
    servers: opts.servers,
    name: opts.name ?? 'trm',
    // A NATS restart must never need ours: reconnect for ever, a message of ours is never only in NATS.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    ...(opts.user ? { user: opts.user, pass: opts.pass ?? '' } : {}),
  });
  const bus = new JetStreamBus(nc, await jetstreamManager(nc), opts);
  await bus.ensureStream();
  return bus;
}

export class JetStreamBus implements Bus {
  readonly subjectsPrefix: string;
  readonly streamName: string;
  private readonly js: JetStreamClient;
  private readonly logger: Logger;
  private readonly subscriptions = new Set<Subscription>();
  private streamCreated: string | undefined;

  constructor(
    readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly opts: JetStreamBusOptions,
  ) {
    this.subjectsPrefix = opts.subjectsPrefix ?? 'trm';
    this.streamName = opts.streamName ?? 'TRM';
    this.js = jetstream(nc);
    this.logger = opts.logger ?? silentLogger;
  }

  private streamConfig() {
    return {
      name: this.streamName,
      subjects: [`${this.subjectsPrefix}.>`],
      storage: StorageType.File,
      duplicate_window: nanos(this.opts.duplicateWindowMs ?? 120_000),
      max_age: nanos(this.opts.maxAgeMs ?? 30 * 24 * 3_600_000),
      max_bytes: this.opts.maxBytes ?? -1,
    };
  }

  /** Creates the stream if it is missing, with the same configuration every time; brings an older one up to it. */
  async ensureStream(): Promise<void> {
    const config = this.streamConfig();
    try {
      const info = await this.jsm.streams.info(this.streamName);
      this.streamCreated = info.created;
      const subjects = info.config.subjects ?? [];
      if (!subjects.includes(config.subjects[0]!) || info.config.max_age !== config.max_age || info.config.max_bytes !== config.max_bytes) {
        await this.jsm.streams.update(this.streamName, {
          ...info.config,
          subjects: subjects.includes(config.subjects[0]!) ? subjects : [...subjects, config.subjects[0]!],
          max_age: config.max_age,
          max_bytes: config.max_bytes,
        });
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND)) throw err;
      const info = await this.jsm.streams.add(config);
      this.streamCreated = info.created;
      this.logger.warn({ stream: this.streamName }, 'stream was missing: created it');
    }
  }

  async streamState(): Promise<StreamState | undefined> {
    try {
      const info = await this.jsm.streams.info(this.streamName);
      this.streamCreated = info.created;
      return { created: info.created, lastSeq: info.state.last_seq };
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND) {
        await this.ensureStream();
        return this.streamState();
      }
      throw err;
    }
  }

  async deleteStream(): Promise<void> {
    await this.jsm.streams.delete(this.streamName);
  }

  signal(topic: string): void {
    try {
      this.nc.publish(signalSubject(this.subjectsPrefix, topic));
    } catch (err) {
      // Closed or reconnecting: the listeners' poll covers the lost hint.
      this.logger.debug({ topic, err: errorMessage(err) }, 'signal not sent');
    }
  }

  onSignal(topic: string, listener: () => void): () => void {
    const sub = this.nc.subscribe(signalSubject(this.subjectsPrefix, topic), { callback: () => listener() });
    return () => sub.unsubscribe();
  }

  async publish(message: OutgoingMessage): Promise<PublishAck> {
    const attempts = this.opts.publishAttempts ?? 6;
    for (let attempt = 1; ; attempt++) {
      try {
        // Same msgID on every attempt: a publish that timed out may have been stored, and the
        // server then answers the retry with `duplicate` instead of storing it twice.
        const ack = await this.js.publish(message.subject, message.data, { msgID: message.msgId, timeout: this.opts.publishTimeoutMs ?? 5_000 });
        return { seq: ack.seq, ...(this.streamCreated ? { streamCreated: this.streamCreated } : {}) };
      } catch (err) {
        if (attempt >= attempts || this.nc.isClosed()) throw err;
        // No stream takes the subject (deleted, or the server's store wiped): make it again.
        if (/no responders|503|stream not found/i.test(errorMessage(err))) await this.ensureStream().catch(() => {});
        this.logger.warn({ msgId: message.msgId, attempt, err: errorMessage(err) }, 'publish failed, retrying');
        await sleep(Math.min(250 * 2 ** (attempt - 1), 3_000));
      }
    }
  }

  async consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Subscription> {
    await this.ensureConsumer(options);
    const concurrency = Math.max(1, options.concurrency ?? 1);
    const abort = new AbortController();
    let messages: ConsumerMessages | undefined;
    const inFlight = new Set<Promise<void>>();

    const settle = (what: string, msgId: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        // Connection gone: the message comes back after ack wait and the inbox drops the repeat.
        this.logger.warn({ durable: options.durable, msgId, err: errorMessage(err) }, `could not ${what}`);
      }
    };
    const run = async () => {
      let first = true;
      while (!abort.signal.aborted) {
        try {
          // Whatever ended the last iterator (stream or consumer deleted, server wiped) is repaired here.
          if (!first) {
            await this.ensureStream();
            await this.ensureConsumer(options);
          }
          first = false;
          const consumer = await this.js.consumers.get(this.streamName, options.durable);
          // Abort when the stream or the durable is gone (deleted, or the server's store wiped) so
          // that they are recreated here; the library would otherwise wait for them for ever.
          messages = await consumer.consume({ max_messages: Math.max(concurrency * 2, 16), abort_on_missing_resource: true });
          if (abort.signal.aborted) await messages.close();
          for await (const m of messages) {
            const msgId = m.headers?.get('Nats-Msg-Id') || String(m.seq);
            const d: Delivery = {
              subject: m.subject,
              msgId,
              data: m.data,
              deliveryCount: m.info.deliveryCount,
              ack: () => settle('ack', msgId, () => m.ack()),
              nak: (delayMs?: number) => settle('nak', msgId, () => m.nak(delayMs)),
              // Without a reason: NATS before 2.10 ignores `+TERM <reason>` and redelivers the
              // message after ack wait, for ever. The reason is in the dead letter.
              term: () => settle('term', msgId, () => m.term()),
              working: () => settle('mark in progress', msgId, () => m.working()),
            };
            const p = handler(d)
              .catch((err) => {
                this.logger.error({ durable: options.durable, msgId, err: errorMessage(err) }, 'delivery handler failed');
                d.nak();
              })
              .finally(() => inFlight.delete(p));
            inFlight.add(p);
            if (inFlight.size >= concurrency) await Promise.race(inFlight);
          }
          await Promise.all(inFlight);
        } catch (err) {
          if (abort.signal.aborted) break;
          this.logger.warn({ durable: options.durable, err: errorMessage(err) }, 'consumer interrupted, resuming');
        }
        // The iterator only ends on stop or on an error it could not recover from by itself.
        if (!abort.signal.aborted) await sleep(1_000, abort.signal);
      }
      await Promise.all(inFlight);
    };
    const loop = run();
    // With maxDeliver -1 (what startConsumer asks for) JetStream never gives up on a message. A
    // durable configured otherwise by hand would drop messages in silence: say so loudly.
    const advisory = this.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${this.streamName}.${options.durable}`, {
      callback: (_err, msg) => {
        let seq: unknown;
        try {
          seq = (msg.json() as { stream_seq?: unknown }).stream_seq;
        } catch {
          seq = undefined;
        }
        this.logger.error({ durable: options.durable, streamSeq: seq }, 'JetStream stopped redelivering a message (max deliveries): the durable is misconfigured');
      },
    });

    const subscription: Subscription = {
      stop: async () => {
        advisory.unsubscribe();
        abort.abort();
        await messages?.close().catch(() => {});
        await loop;
        this.subscriptions.delete(subscription);
      },
      pending: async () => {
        try {
          const info = await this.jsm.consumers.info(this.streamName, options.durable);
          return info.num_pending + info.num_ack_pending;
        } catch {
          return undefined;
        }
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  private async ensureConsumer(options: ConsumeOptions): Promise<void> {
    const config = {
      durable_name: options.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: options.filterSubject,
      max_deliver: options.maxDeliver,
      ack_wait: nanos(options.ackWaitMs ?? 30_000),
      max_ack_pending: Math.max(1_000, (options.concurrency ?? 1) * 4),
    };
    try {
      const info = await this.jsm.consumers.info(this.streamName, options.durable);
      const c = info.config;
      if (c.filter_subject !== config.filter_subject || c.max_deliver !== config.max_deliver || c.ack_wait !== config.ack_wait) {
        await this.jsm.consumers.update(this.streamName, options.durable, {
          filter_subject: config.filter_subject,
          max_deliver: config.max_deliver,
          ack_wait: config.ack_wait,
          max_ack_pending: config.max_ack_pending,
        });
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === CONSUMER_NOT_FOUND)) throw err;
      await this.jsm.consumers.add(this.streamName, config);
    }
  }

  async ready(): Promise<boolean> {
    if (this.nc.isClosed()) return false;
    try {
      await Promise.race([this.nc.flush(), sleep(2_000).then(() => Promise.reject(new Error('flush timeout')))]);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    for (const s of [...this.subscriptions]) await s.stop();
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}
