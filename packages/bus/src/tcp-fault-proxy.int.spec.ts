import { baseDatabaseUrl } from '@trm/testing';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { type TcpFaultProxy, startTcpFaultProxy, targetOf } from '../test/tcp-fault-proxy.js';

// The fault proxy the outage tests rely on, checked against the real PostgreSQL: each mode does
// what it says, or those tests would prove nothing.

let proxy: TcpFaultProxy | undefined;
const clients: pg.Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.end().catch(() => {});
  await proxy?.close();
  proxy = undefined;
});

function client(url: string, connectionTimeoutMillis = 2_000): pg.Client {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

const within = <T>(p: Promise<T>, ms: number): Promise<T | 'pending'> => Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);

it('passes, refuses, black-holes and cuts PostgreSQL connections on command', async () => {
  proxy = await startTcpFaultProxy(targetOf(baseDatabaseUrl(), 5432));
  const url = proxy.url(baseDatabaseUrl());

  // pass
  const a = client(url);
  await a.connect();
  expect((await a.query('select 1 as one')).rows[0].one).toBe(1);
  expect(proxy.connections()).toBe(1);

  // black hole: an open connection gets no answer, a new one never completes its start-up…
  await proxy.blackhole();
  const held = a.query('select 2 as two');
  expect(await within(held, 700)).toBe('pending');
  const b = client(url, 500);
  await expect(b.connect()).rejects.toThrow(/timeout/i);
  // …and once it heals, what was held is delivered (TCP would retransmit it).
  await proxy.pass();
  expect((await held).rows[0].two).toBe(2);

  // cut: every open connection is reset
  const failed = new Promise<Error>((resolve) => a.once('error', resolve));
  // (b's socket may still be open: a black hole held it, unread, until the proxy passed again.)
  expect(proxy.cut()).toBeGreaterThanOrEqual(1);
  expect(String(await within(failed, 2_000))).toMatch(/ECONNRESET|terminated/i);
  expect(proxy.connections()).toBe(0);

  // refuse: nothing listens
  await proxy.refuse();
  const c = client(url);
  await expect(c.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  await proxy.pass();
  const d = client(url);
  await d.connect();
  expect((await d.query('select 3 as three')).rows[0].three).toBe(3);
});
