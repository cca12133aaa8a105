import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type { Relay, doctor } from '@trm/bus';
import { createEventStore } from '@trm/event-store';
import type { Db } from '@trm/db';
import { loadOrCreateDevKey, signToken } from '@trm/platform';
import { referralsModule } from '@trm/referrals';
import { repatriationModule } from '@trm/repatriation';
import { createEmbeddedHost, type Host } from '@trm/runtime';
import { baseDatabaseUrl, natsUrl } from '@trm/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODULES } from '../apps/trm/src/modules.js';
import { AUDIENCE, ISSUER, type Stack, startStack } from './support/stack.js';

/**
 * `npm run -s bus:doctor` end to end: the operator route of a running host (distributed, on
 * PostgreSQL and JetStream; and embedded, on PGlite and the in-process bus as `make run`), and
 * the command itself (spawned from dist/, after `npx tsc -b`) against DATABASE_URL/NATS_URL and
 * against a host's URL.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'apps/trm/dist/bus-doctor.js');
const CONSUMER = 'repatriation-case-facts';

/**
 * The consumer's transaction refused by the database until the trigger goes: the "cause" an
 * operator fixes before replaying. On its inbox, so it holds whatever the event's type.
 */
async function refuseConsumer(db: Db) {
  await sql.raw(`create or replace function repatriation.bus_doctor_refuse() returns trigger language plpgsql as $$
    begin if new.consumer = '${CONSUMER}' then raise exception 'refused by the test'; end if; return new; end $$`).execute(db);
  await sql`create trigger bus_doctor_refuse before insert on repatriation.inbox for each row execute function repatriation.bus_doctor_refuse()`.execute(db);
}
const allowConsumer = (db: Db) => sql`drop trigger bus_doctor_refuse on repatriation.inbox`.execute(db);

/** An event of referrals, as its service would append it; its relay publishes it. */
async function appendReferralsEvent(db: Db, relays: readonly Relay[]): Promise<{ eventId: string; streamId: string }> {
  const streamId = `case-${randomUUID()}`;
  const { events } = await createEventStore({ schema: 'referrals' }).append(db, streamId, [{ type: 'DoctorProbe', data: { caseId: streamId } }], {
    expectedVersion: 'any',
    metadata: { actor: 'system:test', organisation: 'anitp', correlationId: randomUUID(), causationId: null, requestId: null },
  });
  for (const r of relays) r.wake();
  return { eventId: events[0]!.eventId, streamId };
}

/** The consumer applied the event: its handler's transaction, with the inbox row, committed, and its position moved. */
const wasApplied = async (db: Db, e: { eventId: string; streamId: string }) => {
  const { rows } = await sql<{ inbox: number; version: number | null }>`select
      (select count(*) from repatriation.inbox where consumer = ${CONSUMER} and event_id = ${e.eventId}::uuid)::int as inbox,
      (select version from repatriation.consumer_streams where consumer = ${CONSUMER} and source = 'referrals' and stream_id = ${e.streamId}) as version`.execute(db);
  return rows[0]!.inbox === 1 && rows[0]!.version === 1;
};

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const openDeadLetters = async (db: Db) =>
  (await sql<{ id: string }>`select id::text as id from repatriation.dead_letters where consumer = ${CONSUMER} and resolved_at is null order by id`.execute(db)).rows.map((r) => `repatriation:${r.id}`);

/** What a repair could change, in both schemas. */
async function snapshot(db: Db) {
  const out: Record<string, unknown> = {};
  for (const schema of ['referrals', 'repatriation']) {
    for (const [name, query] of [
      ['dead_letters', 'select id, resolved_at, resolution from %s.dead_letters order by id'],
      ['consumer_streams', 'select consumer, source, stream_id, version from %s.consumer_streams order by 1, 2, 3'],
      ['relay_checkpoints', 'select relay, transaction_id::text, global_position from %s.relay_checkpoints order by 1'],
      ['relay_leases', 'select relay, holder from %s.relay_leases order by 1'],
      ['inbox', `select consumer, event_id from %s.inbox where consumer = '${CONSUMER}' order by 2`],
    ] as const) {
      out[`${schema}.${name}`] = (await sql.raw(query.replace('%s', schema)).execute(db)).rows;
    }
  }
  return out;
}

function run(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bus doctor on the distributed services (PostgreSQL, JetStream)', () => {
  let stack: Stack;
  let url: string;
  let operator: string;
  let databaseUrl: string;
  let cliEnv: Record<string, string>;
  let probe: { eventId: string; streamId: string };
  let deadLetter: string;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npx tsc -b first`);
    stack = await startStack({ modules: [referralsModule, repatriationModule], env: { TRM_RELAY_LEASE_MS: '1000' } });
    await stack.app.listen({ port: 0, host: '127.0.0.1' });
    const address = stack.app.server.address() as { port: number };
    url = `http://127.0.0.1:${address.port}`;
    operator = await stack.token('anitp', ['operator']);
    const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(stack.db);
    const u = new URL(baseDatabaseUrl());
    u.pathname = `/${rows[0]!.name}`;
    databaseUrl = u.toString();
    cliEnv = { DATABASE_URL: databaseUrl, NATS_URL: natsUrl(), NATS_STREAM: stack.streamName, NATS_SUBJECT_PREFIX: stack.subjectsPrefix, TRM_RELAY_LEASE_MS: '1000' };
    await refuseConsumer(stack.db);
    probe = await appendReferralsEvent(stack.db, stack.relays);
    // Five failed deliveries with backoff, then the dead letter.
    await waitFor('the dead letter', async () => (await openDeadLetters(stack.db)).length > 0, 45_000);
    deadLetter = (await openDeadLetters(stack.db))[0]!;
  }, 90_000);
  afterAll(async () => stack?.close());

  const call = (token: string | undefined, method: 'GET' | 'POST', path: string, payload?: unknown) =>
    stack.app.inject({ method, url: path, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(payload === undefined ? {} : { payload: payload as object }) });

  it('refuses the operator route without a token (401) and to anyone but the registry operator\'s operator role (403)', async () => {
    const before = await snapshot(stack.db);
    const repair = { action: 'replay', deadLetterId: deadLetter, dryRun: false };
    for (const [method, p, body] of [['GET', '/bus-doctor', undefined], ['POST', '/bus-doctor/repairs', repair]] as const) {
      expect((await call(undefined, method, p, body)).statusCode).toBe(401);
      for (const [org, roles] of [
        ['anitp', ['admin', 'case_officer']],
        ['ngo-it', ['operator']],
        ['consulate-ro-it', ['operator', 'admin']],
      ] as const) {
        const res = await call(await stack.token(org, [...roles]), method, p, body);
        expect(res.statusCode, `${method} ${p} as ${org}/${roles}`).toBe(403);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    }
    expect(await snapshot(stack.db)).toEqual(before);
  });

  it('refuses bad input with a 400 problem naming the field, and writes nothing', async () => {
    const before = await snapshot(stack.db);
    const cases: Array<[unknown, string]> = [
      [{ action: 'explode', dryRun: false }, '/action'],
      [{ action: 'replay', dryRun: false }, '/deadLetterId'],
      [{ action: 'discard', dryRun: false }, '/deadLetterId'],
      [{ action: 'discard', deadLetterId: 'repatriation;drop table', dryRun: false }, '/deadLetterId'],
      [{ action: 'replay', deadLetterId: deadLetter, dryRun: false, status: 'closed' }, '/status'],
      [{ action: 'reset-checkpoint', relay: 'referrals.referrals', deadLetterId: deadLetter, dryRun: false }, '/deadLetterId'],
      [{ action: 'reset-checkpoint', dryRun: false }, '/relay'],
      [{ action: 'republish', relay: 'referrals referrals', dryRun: false }, '/relay'],
      [{ action: 'reset-checkpoint', relay: 'referrals.referrals', to: 'yesterday', dryRun: false }, '/to'],
      [{ action: 'replay', deadLetterId: deadLetter, dryRun: 'no' }, '/dryRun'],
      [{ action: 'replay', deadLetterId: deadLetter, consumer: CONSUMER, stream: 'referrals/x', dryRun: false }, '/consumer'],
    ];
    for (const [body, pointer] of cases) {
      const res = await call(operator, 'POST', '/bus-doctor/repairs', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'validation-failed' });
      expect(res.json().errors.map((e: { pointer: string }) => e.pointer), JSON.stringify(body)).toContain(pointer);
    }
    const unknown = await call(operator, 'POST', '/bus-doctor/repairs', { action: 'discard', deadLetterId: 'repatriation:999999', dryRun: false });
    expect(unknown.statusCode).toBe(404);
    const relay = await call(operator, 'POST', '/bus-doctor/repairs', { action: 'republish', relay: 'nowhere.nothing', dryRun: false });
    expect(relay.statusCode).toBe(404);
    expect(await snapshot(stack.db)).toEqual(before);
  });

  it('reports the dead letter and the lag it causes, on the route and from the command (database and URL)', async () => {
    const res = await call(operator, 'GET', '/bus-doctor');
    expect(res.statusCode).toBe(200);
    const report = res.json() as doctor.BusReport;
    const c = report.consumers.find((x) => x.name === CONSUMER)!;
    expect(c.filterSubject).toBe(`${stack.subjectsPrefix}.referrals.>`);
    expect(c.deadLetters.items[0]).toMatchObject({ id: deadLetter, source: 'referrals', version: 1, blocksStream: true, waitsBehind: null });
    expect(c.deadLetters.items[0]!.error).toContain('refused by the test');
    expect(c.deadLetters.items[0]!.streamId).toBe(probe.streamId);
    expect(c.lag.find((l) => l.source === 'referrals')).toMatchObject({ blockedStreams: 1 });
    expect(c.durable).toMatchObject({ name: CONSUMER, maxDeliver: -1 });
    expect(report.stream?.name).toBe(stack.streamName);
    expect(report.relays.map((r) => r.relay)).toEqual(expect.arrayContaining(['referrals.referrals', 'repatriation.repatriation']));

    const text = await run([], cliEnv);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('consumers');
    expect(text.stdout).toContain(CONSUMER);
    expect(text.stdout).toContain(deadLetter);
    expect(text.stdout).toContain('refused by the test');
    expect(text.stdout).toContain('referrals.referrals');
    // The stack runs two services: the others' schemas are not in its database.
    expect(text.stderr).toMatch(/skipped: (proceedings|statistics|ledger), (proceedings|statistics|ledger), (proceedings|statistics|ledger)\n/);
    const json = await run(['report', '--json'], cliEnv);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as doctor.BusReport;
    expect(parsed.consumers.find((x) => x.name === CONSUMER)?.deadLetters.open).toBe(1);
    expect(parsed.stream?.name).toBe(stack.streamName);

    const viaUrl = await run(['--url', url, '--token', operator], {});
    expect(viaUrl.code, viaUrl.stderr).toBe(0);
    expect(viaUrl.stdout).toContain(deadLetter);
    const refused = await run(['--url', url, '--token', await stack.token('anitp', ['admin'])], {});
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('403');
  });

  it('replays the dead letter from the command once the cause is fixed: dry run first, then the effect appears', async () => {
    await allowConsumer(stack.db);
    const before = await snapshot(stack.db);
    const dry = await run(['replay', '--dead-letter', deadLetter], cliEnv);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('dry run');
    expect(dry.stdout).toContain('nothing changed');
    expect(await snapshot(stack.db)).toEqual(before);

    const applied = await run(['replay', '--dead-letter', deadLetter, '--apply', '--wait', '30'], cliEnv);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/outcome: applied/);
    expect(await wasApplied(stack.db, probe)).toBe(true);
    expect(await openDeadLetters(stack.db)).toEqual([]);
    const { rows } = await sql<{ resolution: string }>`select resolution from repatriation.dead_letters where id = ${deadLetter.split(':')[1]}::bigint`.execute(stack.db);
    expect(rows[0]!.resolution).toBe('replayed');
  });
});

describe('bus doctor on make run (PGlite, in-process bus): the route, and the command with --url', () => {
  let host: Host;
  let dataDir: string;
  let url: string;
  let operator: string;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npx tsc -b first`);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'trm-doctor-'));
    const env = { NODE_ENV: 'development', LOG_LEVEL: 'silent', TRM_DATA_DIR: dataDir, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, TRM_RELAY_LEASE_MS: '1000', RATE_LIMIT_PER_MINUTE: '100000' };
    host = await createEmbeddedHost(MODULES, env, { inMemory: true });
    await host.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(host.app.server.address() as { port: number }).port}`;
    const key = await loadOrCreateDevKey(dataDir);
    operator = await signToken(key, { org: 'anitp', orgType: 'national_contact_point', roles: ['operator'], issuer: ISSUER, audience: AUDIENCE });
  }, 90_000);
  afterAll(async () => {
    await host?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const repair = (body: unknown) => host.app.inject({ method: 'POST', url: '/bus-doctor/repairs', headers: { authorization: `Bearer ${operator}` }, payload: body as object });
  const ledgerEntries = async () => (await sql<{ n: number }>`select count(*)::int as n from ledger.ledger_entries`.execute(host.db)).rows[0]!.n;

  it('replays a dead letter through the route: the consumer applies it before the answer; republishing changes no effect', async () => {
    await refuseConsumer(host.db);
    const probe = await appendReferralsEvent(host.db, host.relays);
    await waitFor('the dead letter', async () => (await openDeadLetters(host.db)).length > 0, 45_000);
    const [deadLetter] = await openDeadLetters(host.db);

    const viaUrl = await run(['report', '--url', url, '--token', operator], {});
    expect(viaUrl.code, viaUrl.stderr).toBe(0);
    expect(viaUrl.stdout).toContain(deadLetter);
    expect(viaUrl.stdout).toContain(CONSUMER);
    expect(viaUrl.stdout).toContain('referrals.referrals');

    await allowConsumer(host.db);
    const before = await snapshot(host.db);
    const dry = await repair({ action: 'replay', deadLetterId: deadLetter });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json()).toMatchObject({ dryRun: true, changed: false });
    expect(await snapshot(host.db)).toEqual(before);

    const cli = await run(['replay', '--dead-letter', deadLetter!, '--apply', '--url', url, '--token', operator], {});
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/outcome: applied/);
    expect(await wasApplied(host.db, probe)).toBe(true);
    expect(await openDeadLetters(host.db)).toEqual([]);

    // Everything published again: every consumer drops what it has, the ledger takes no second entry.
    await host.relays[0]!.caughtUp();
    const entries = await ledgerEntries();
    const facts = await snapshot(host.db);
    const republish = await repair({ action: 'republish', relay: 'referrals.referrals', dryRun: false });
    expect(republish.statusCode, republish.body).toBe(200);
    expect(republish.json()).toMatchObject({ changed: true, outcome: { state: 'republishing' } });
    await waitFor('the relay checkpoint back', async () => (await sql`select 1 from referrals.relay_checkpoints where relay = 'referrals'`.execute(host.db)).rows.length === 1);
    await host.relays[0]!.caughtUp();
    expect(await ledgerEntries()).toBe(entries);
    const after = await snapshot(host.db);
    expect(after['repatriation.inbox']).toEqual(facts['repatriation.inbox']);
    expect(after['repatriation.consumer_streams']).toEqual(facts['repatriation.consumer_streams']);
    expect(after['repatriation.dead_letters']).toEqual(facts['repatriation.dead_letters']);
    const report = (await host.app.inject({ url: '/bus-doctor', headers: { authorization: `Bearer ${operator}` } })).json() as doctor.BusReport;
    expect(report.consumers.find((c) => c.name === CONSUMER)?.deadLetters.open).toBe(0);
    expect(report.relays.find((r) => r.relay === 'referrals.referrals')?.eventsBehind).toBe(0);
  });
});
