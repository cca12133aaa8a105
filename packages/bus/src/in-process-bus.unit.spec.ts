import { describe, expect, it } from 'vitest';
import type { Delivery } from './bus.js';
import { subjectMatches } from './bus.js';
import { InProcessBus } from './in-process-bus.js';

const msg = (n: number, subject = 'trm.referrals.case-notified') => ({ subject, msgId: `m${n}`, data: new TextEncoder().encode(`{"n":${n}}`) });

describe('subjectMatches', () => {
  it('follows NATS wildcards', () => {
    expect(subjectMatches('trm.>', 'trm.referrals.case-notified')).toBe(true);
    expect(subjectMatches('trm.*.case-notified', 'trm.referrals.case-notified')).toBe(true);
    expect(subjectMatches('trm.referrals', 'trm.referrals.case-notified')).toBe(false);
    expect(subjectMatches('trm.referrals.>', 'trm.referrals')).toBe(false);
    expect(subjectMatches('trm.ledger.>', 'trm.referrals.x')).toBe(false);
  });
});

describe('InProcessBus', () => {
  it('resolves publish only after every matching durable has acked', async () => {
    const bus = new InProcessBus();
    const seen: string[] = [];
    await bus.consume({ durable: 'a', filterSubject: 'trm.>', maxDeliver: 3 }, async (d) => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push(`a:${d.msgId}`);
      d.ack();
    });
    await bus.consume({ durable: 'b', filterSubject: 'trm.referrals.>', maxDeliver: 3 }, async (d) => {
      seen.push(`b:${d.msgId}`);
      d.ack();
    });
    await bus.consume({ durable: 'c', filterSubject: 'trm.ledger.>', maxDeliver: 3 }, async (d) => {
      seen.push(`c:${d.msgId}`);
      d.ack();
    });
    await bus.publish(msg(1));
    expect(seen.sort()).toEqual(['a:m1', 'b:m1']);
    await bus.close();
  });

  it('redelivers after nak and after a throw, counting deliveries', async () => {
    const bus = new InProcessBus();
    const counts: number[] = [];
    await bus.consume({ durable: 'a', filterSubject: 'trm.>', maxDeliver: 5 }, async (d) => {
      counts.push(d.deliveryCount);
      if (d.deliveryCount === 1) d.nak(10);
      else if (d.deliveryCount === 2) throw new Error('boom');
      else d.ack();
    });
    await bus.publish(msg(1));
    expect(counts).toEqual([1, 2, 3]);
    await bus.close();
  });

  it('stops redelivering after maxDeliver, and term settles at once', async () => {
    const bus = new InProcessBus();
    let deliveries = 0;
    let termed = 0;
    await bus.consume({ durable: 'a', filterSubject: 'trm.>', maxDeliver: 3 }, async (d) => {
      if (d.msgId === 'm2') {
        termed++;
        d.term();
        return;
      }
      deliveries++;
      d.nak();
    });
    await bus.publish(msg(1));
    await bus.publish(msg(2));
    expect(deliveries).toBe(3);
    expect(termed).toBe(1);
    await bus.close();
  });

  it('shares a durable between members and bounds concurrency', async () => {
    const bus = new InProcessBus();
    let active = 0;
    let maxActive = 0;
    const by = { x: 0, y: 0 };
    const handler = (who: 'x' | 'y') => async (d: Delivery) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 2));
      by[who]++;
      active--;
      d.ack();
    };
    await bus.consume({ durable: 'a', filterSubject: 'trm.>', maxDeliver: 3, concurrency: 2 }, handler('x'));
    await bus.consume({ durable: 'a', filterSubject: 'trm.>', maxDeliver: 3, concurrency: 2 }, handler('y'));
    await Promise.all(Array.from({ length: 40 }, (_, i) => bus.publish(msg(i))));
    expect(by.x + by.y).toBe(40);
    expect(by.x).toBeGreaterThan(0);
    expect(by.y).toBeGreaterThan(0);
    expect(maxActive).toBeLessThanOrEqual(4);
    await bus.close();
  });

  it('rejects publish when a matching durable stops before settling, so the relay keeps its checkpoint', async () => {
    const bus = new InProcessBus();
    const sub = await bus.consume({ durable: 'a', filterSubject: 'trm.>', maxDeliver: 5 }, async (d) => d.nak(50));
    const p = bus.publish(msg(1));
    await new Promise((r) => setTimeout(r, 10));
    await sub.stop();
    await expect(p).rejects.toThrow(/stopped/);
    await expect(bus.publish(msg(2))).rejects.toThrow(/no active consumer/);
    await bus.close();
  });
});
