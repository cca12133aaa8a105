import { kebabCase } from '@trm/contracts';

/** One delivery of a message to a durable consumer. Settle it exactly once. */
export interface Delivery {
  subject: string;
  /** The publisher's dedupe id; for events, the event id. */
  msgId: string;
  data: Uint8Array;
  /** 1 on the first delivery. */
  deliveryCount: number;
  ack(): void;
  /** Redeliver after `delayMs` (counts as a delivery). */
  nak(delayMs?: number): void;
  /** Never redeliver. */
  term(reason?: string): void;
  /** Still being worked on: restarts the transport's ack wait (JetStream's in-progress ack). */
  working?(): void;
}

export interface OutgoingMessage {
  subject: string;
  msgId: string;
  data: Uint8Array;
}

export interface PublishAck {
  seq: number;
  /** Creation time of the stream that stored it, as the transport last saw it. */
  streamCreated?: string;
}

export interface StreamState {
  created: string;
  lastSeq: number;
}

export interface ConsumeOptions {
  /** Durable name: replicas using the same name share the work. */
  durable: string;
  filterSubject: string;
  /**
   * Deliveries after which the transport stops redelivering, or -1 for never. Required, so that
   * every caller decides: startConsumer passes -1 and gives up itself, only once a dead letter is written.
   */
  maxDeliver: number;
  /** Redelivery timeout of an unsettled delivery. Default 30 s. */
  ackWaitMs?: number;
  /** Deliveries handled at once by this process. Above 1, order across messages is not kept. Default 1. */
  concurrency?: number;
}

export interface Subscription {
  /** Stops taking new deliveries and waits for the in-flight ones to settle. */
  stop(): Promise<void>;
  /** Messages not yet acknowledged by this durable (waiting + in flight), when the transport knows. */
  pending(): Promise<number | undefined>;
}

export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

/** What the relay publishes to and consumers read from: NATS JetStream, or in-process in embedded mode. */
export interface Bus {
  /** First token of every subject (`trm` in production; random in tests so runs never collide). */
  readonly subjectsPrefix: string;
  /** Resolves once the transport has durably accepted the message (JetStream: the PubAck, with its place in the stream). */
  publish(message: OutgoingMessage): Promise<PublishAck | void>;
  /**
   * The stream messages are kept in, where there is one (JetStream): when it was created and its
   * last sequence. The relay compares them with what it published to notice a lost stream or tail.
   */
  streamState?(): Promise<StreamState | undefined>;
  consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Subscription>;
  /**
   * A best-effort wake-up hint to every process listening on `topic`, outside the event stream
   * (core NATS in distributed mode). Losing one only delays work until the next poll, so it is
   * never used to carry data.
   */
  signal(topic: string): void;
  /** Calls `listener` on every signal of `topic`; returns the function that stops listening. */
  onSignal(topic: string, listener: () => void): () => void;
  /** For `/health/ready`. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Signals travel on `_trm_signal.<prefix>.<topic>`: outside `<prefix>.>`, so the TRM stream never
 * stores them and no event consumer ever sees one.
 */
export function signalSubject(prefix: string, topic: string): string {
  return `_trm_signal.${prefix}.${topic}`;
}

/** `<prefix>.<service>.<event in lower-kebab>`; with the default prefix it equals contracts' `subjectFor`. */
export function eventSubject(prefix: string, service: string, type: string): string {
  return `${prefix}.${service}.${kebabCase(type)}`;
}

/** NATS subject matching (`*` one token, `>` one or more trailing tokens). */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    const token = f[i];
    if (token === '>') return s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return f.length === s.length;
}
