import {
  type Bus,
  type ConsumeOptions,
  type Delivery,
  type DeliveryHandler,
  type OutgoingMessage,
  type Subscription,
  subjectMatches,
} from './bus.js';

interface Job {
  message: OutgoingMessage;
  deliveries: number;
  resolve(): void;
  reject(err: Error): void;
}

interface Member {
  handler: DeliveryHandler;
  concurrency: number;
  active: number;
  stopped: boolean;
  idle: Array<() => void>;
}

interface Durable {
  name: string;
  filterSubject: string;
  maxDeliver: number;
  members: Member[];
  queue: Job[];
  next: number;
}

export interface InProcessBusOptions {
  subjectsPrefix?: string;
}

/**
 * The embedded mode's bus. There is no stream to keep messages in, so delivery is synchronous
 * with publishing: `publish` resolves only once every durable whose filter matches has settled
 * the message (acked, or terminated after dead-lettering, or given up after `maxDeliver`). The
 * relay saves its checkpoint after `publish` resolves, so a crash at any point leaves the event
 * behind the checkpoint and it is published again on restart; consumers' inboxes drop the repeat.
 *
 * Consequence: a durable only receives what is published while it is registered, so register
 * consumers before starting relays. A durable whose consumers have all stopped makes `publish`
 * reject (the relay retries later) rather than silently skip it.
 */
export class InProcessBus implements Bus {
  readonly subjectsPrefix: string;
  private readonly durables = new Map<string, Durable>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private closed = false;

  constructor(opts: InProcessBusOptions = {}) {
    this.subjectsPrefix = opts.subjectsPrefix ?? 'trm';
  }

  signal(topic: string): void {
    for (const listener of this.listeners.get(topic) ?? []) listener();
  }

  onSignal(topic: string, listener: () => void): () => void {
    const set = this.listeners.get(topic) ?? new Set();
    set.add(listener);
    this.listeners.set(topic, set);
    return () => set.delete(listener);
  }

  async publish(message: OutgoingMessage): Promise<void> {
    if (this.closed) throw new Error('InProcessBus is closed');
    const targets = [...this.durables.values()].filter((d) => subjectMatches(d.filterSubject, message.subject));
    await Promise.all(
      targets.map(
        (durable) =>
          new Promise<void>((resolve, reject) => {
            if (durable.members.length === 0) {
              reject(new Error(`Durable ${durable.name} has no active consumer`));
              return;
            }
            durable.queue.push({ message, deliveries: 0, resolve, reject });
            this.dispatch(durable);
          }),
      ),
    );
  }

  async consume(options: ConsumeOptions, handler: DeliveryHandler): Promise<Subscription> {
    if (this.closed) throw new Error('InProcessBus is closed');
    let durable = this.durables.get(options.durable);
    if (!durable) {
      durable = { name: options.durable, filterSubject: options.filterSubject, maxDeliver: options.maxDeliver, members: [], queue: [], next: 0 };
      this.durables.set(options.durable, durable);
    } else {
      // Same as updating a JetStream consumer's config: the latest registration wins.
      durable.filterSubject = options.filterSubject;
      durable.maxDeliver = options.maxDeliver;
    }
    const member: Member = { handler, concurrency: Math.max(1, options.concurrency ?? 1), active: 0, stopped: false, idle: [] };
    durable.members.push(member);
    const d = durable;
    return {
      stop: () => this.stopMember(d, member),
      pending: async () => d.queue.length + d.members.reduce((n, m) => n + m.active, 0),
    };
  }

  async ready(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const durable of this.durables.values()) {
      for (const member of [...durable.members]) await this.stopMember(durable, member);
    }
  }

  private async stopMember(durable: Durable, member: Member): Promise<void> {
    if (!member.stopped) {
      member.stopped = true;
      durable.members = durable.members.filter((m) => m !== member);
      if (durable.members.length === 0) {
        for (const job of durable.queue.splice(0)) job.reject(new Error(`Durable ${durable.name} stopped before settling ${job.message.msgId}`));
      }
    }
    if (member.active > 0) await new Promise<void>((resolve) => member.idle.push(resolve));
  }

  private dispatch(durable: Durable): void {
    while (durable.queue.length > 0) {
      const member = this.pickMember(durable);
      if (!member) return;
      const job = durable.queue.shift()!;
      void this.deliver(durable, member, job);
    }
  }

  private pickMember(durable: Durable): Member | undefined {
    const n = durable.members.length;
    for (let i = 0; i < n; i++) {
      const member = durable.members[(durable.next + i) % n]!;
      if (member.active < member.concurrency) {
        durable.next = (durable.next + i + 1) % n;
        return member;
      }
    }
    return undefined;
  }

  private async deliver(durable: Durable, member: Member, job: Job): Promise<void> {
    member.active++;
    job.deliveries++;
    let outcome: { kind: 'ack' | 'term' } | { kind: 'nak'; delayMs: number } | undefined;
    const delivery: Delivery = {
      subject: job.message.subject,
      msgId: job.message.msgId,
      // A copy, so a handler cannot alter what a redelivery or another durable sees.
      data: job.message.data.slice(),
      deliveryCount: job.deliveries,
      ack: () => void (outcome ??= { kind: 'ack' }),
      nak: (delayMs = 0) => void (outcome ??= { kind: 'nak', delayMs }),
      term: () => void (outcome ??= { kind: 'term' }),
    };
    try {
      await member.handler(delivery);
    } catch {
      // Same as a JetStream handler that dies before settling: redelivered.
    }
    member.active--;
    if (member.active === 0) for (const resolve of member.idle.splice(0)) resolve();

    const settled = outcome ?? { kind: 'nak' as const, delayMs: 0 };
    if (settled.kind !== 'nak') job.resolve();
    else if (durable.maxDeliver > 0 && job.deliveries >= durable.maxDeliver) job.resolve(); // As JetStream would; startConsumer asks for -1 (never).
    else if (settled.delayMs > 0) setTimeout(() => this.requeue(durable, job), settled.delayMs);
    else this.requeue(durable, job);
    this.dispatch(durable);
  }

  private requeue(durable: Durable, job: Job): void {
    if (durable.members.length === 0) {
      job.reject(new Error(`Durable ${durable.name} stopped before settling ${job.message.msgId}`));
      return;
    }
    durable.queue.push(job);
    this.dispatch(durable);
  }
}
