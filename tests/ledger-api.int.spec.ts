import { spawn } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedTreeHead, checkConsistencyProof, checkInclusionProof, entryLeafHash, exportLine, verifyExport } from '@trm/audit';
import { migrate } from '@trm/db';
import { createEventStore } from '@trm/event-store';
import { ledgerModule, reconcile, rotateKeyFile } from '@trm/ledger';
import { createCaseDecider, referralsModule } from '@trm/referrals';
import { type Stack, notification, startStack } from './support/stack.js';

let stack: Stack;
let keyDir: string;
let ngo: string;
let anitp: string;
let auditor: string;
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'trm-ledger-keys-'));
  const keyFile = path.join(keyDir, 'ledger-keys.json');
  await rotateKeyFile(keyFile);
  // A rotation before the run: the JWKS must still list the retired key.
  await rotateKeyFile(keyFile);
  stack = await startStack({
    modules: [referralsModule, ledgerModule],
    env: { LEDGER_SIGNING_KEY_FILE: keyFile, LEDGER_SIGN_INTERVAL_SECONDS: '0.3', LEDGER_SIGN_EVERY_ENTRIES: '1000' },
  });
  ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  anitp = await stack.token('anitp', ['case_officer']);
  auditor = await stack.token('auditor-ro', ['auditor']);
});
afterAll(async () => {
  await stack?.close();
  if (keyDir) await rm(keyDir, { recursive: true, force: true });
});

async function notify(): Promise<string> {
  const res = await stack.app.inject({ method: 'POST', url: '/v1/cases', headers: auth(ngo), payload: notification() });
  expect(res.statusCode).toBe(201);
  return res.json().caseId as string;
}

async function serviceEventCount(): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from referrals.events`.execute(stack.db);
  return Number(rows[0]!.n);
}

async function get(url: string, token = auditor) {
  return stack.app.inject({ url, headers: auth(token) });
}

/** Polls (with a deadline) until the latest signed head covers every event the services recorded. */
async function headCoveringAll(): Promise<SignedTreeHead> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const want = await serviceEventCount();
    const res = await get('/v1/ledger/head');
    if (res.statusCode === 200 && res.json().treeSize >= want) return res.json();
    if (Date.now() > deadline) throw new Error(`no head covering ${want} events in time (last: ${res.body})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The structural export with the events the coordinating contact point sees in its case's
 * history put in: what a participant verifies against the same head (issue 15, finding 1).
 */
async function disclosedExport(structural: string): Promise<string[]> {
  const lines = structural.trimEnd().split('\n');
  const items = (await get(`/v1/ledger/cases/${caseId}/history`, anitp)).json().items as Array<{ index: number; event?: never }>;
  for (const { index, event } of items) {
    if (event && index < lines.length) lines[index] = exportLine({ index, event }, entryLeafHash({ index, event }));
  }
  return lines;
}

let caseId: string;
let head: SignedTreeHead;
let jwks: { keys: never[] };
let exported: string;

describe('ledger over the real stack', () => {
  it('records every event of a notified case under a signed head, and the export verifies offline', async () => {
    caseId = await notify();
    // The stack's clock stands still unless moved: the acknowledgement comes a minute later.
    stack.clock.now = new Date(stack.clock.now.getTime() + 60_000);
    const ack = await stack.app.inject({
      method: 'POST',
      url: `/v1/cases/${caseId}/acknowledgement`,
      headers: auth(anitp),
      payload: { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', regionalCentreId: 'anitp-rc-bucharest' },
    });
    expect(ack.statusCode).toBe(200);
    const read = await get(`/v1/cases/${caseId}/personal-data?purpose=case_management`, anitp);
    expect(read.statusCode).toBe(200);
    await notify();

    head = await headCoveringAll();
    jwks = (await get('/v1/ledger/jwks.json')).json();
    expect(jwks.keys).toHaveLength(2);
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toContain(head.keyId);

    const res = await get(`/v1/ledger/entries?to=${head.treeSize}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/x-ndjson');
    exported = res.body;
    const lines = exported.trimEnd().split('\n');
    expect(lines).toHaveLength(head.treeSize);
    // Gapless: 0, 1, 2…, one entry per service event.
    expect(lines.map((l) => JSON.parse(l).index)).toEqual(Array.from({ length: head.treeSize }, (_, i) => i));
    expect(head.treeSize).toBe(await serviceEventCount());
    // The default export ends at the latest head.
    expect((await get('/v1/ledger/entries')).body.trimEnd().split('\n').length).toBeGreaterThanOrEqual(head.treeSize);

    expect(await verifyExport(lines, { head, jwks })).toMatchObject({ ok: true, entries: head.treeSize, structural: head.treeSize });
    // The auditor's export is the structure only: no event, so no case content.
    expect(exported).not.toContain(caseId);
    expect(exported).not.toContain('"event"');
    // A participant's disclosed events verify against the same head.
    const disclosed = await disclosedExport(exported);
    expect(await verifyExport(disclosed, { head, jwks })).toMatchObject({ ok: true, entries: head.treeSize, structural: head.treeSize - 3 });
    exported = `${disclosed.join('\n')}\n`;
    // Personal data never reaches the ledger.
    expect(exported).not.toContain('Ana');
    expect(exported).not.toContain('Example');
  });

  it('fails naming the entry once one byte of it is changed', async () => {
    const lines = exported.trimEnd().split('\n');
    const target = lines.findIndex((l) => l.includes('"NotificationAcknowledged"'));
    expect(target).toBeGreaterThanOrEqual(0);
    lines[target] = lines[target]!.replace('"regionalCentreId":"anitp-rc-bucharest"', '"regionalCentreId":"anitp-rc-bucharesu"');
    const result = await verifyExport(lines, { head, jwks });
    expect(result).toMatchObject({ ok: false, index: target });
  });

  it('trm-audit (the built command) says OK, then names the changed entry', async () => {
    const bin = path.resolve('packages/audit/bin/trm-audit.js');
    await access(path.resolve('packages/audit/dist/cli.js')).catch(() => {
      throw new Error('build first: npx tsc -b services/ledger packages/audit');
    });
    const files = { entries: path.join(keyDir, 'export.ndjson'), head: path.join(keyDir, 'head.json'), jwks: path.join(keyDir, 'jwks.json') };
    await writeFile(files.head, JSON.stringify(head));
    await writeFile(files.jwks, JSON.stringify(jwks));
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (c) => (out += String(c)));
        child.on('close', (code) => resolve({ code, out }));
      });
    await writeFile(files.entries, exported);
    const ok = await run(['verify', files.entries, '--head', files.head, '--jwks', files.jwks]);
    expect(ok.out).toMatch(/^OK: /);
    expect(ok.code).toBe(0);
    const lines = exported.trimEnd().split('\n');
    const victim = 1;
    const at = lines[victim]!.indexOf('"streamVersion":') + '"streamVersion":'.length;
    lines[victim] = `${lines[victim]!.slice(0, at)}7${lines[victim]!.slice(at + 1)}`;
    await writeFile(files.entries, `${lines.join('\n')}\n`);
    const bad = await run(['verify', files.entries, '--head', files.head, '--jwks', files.jwks]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain(`FAILED: entry ${victim} (line ${victim + 1})`);
  });

  it('serves inclusion proofs that verify against the head, and consistency proofs as the log grows', async () => {
    const entry = (await get(`/v1/ledger/entries/2`)).json();
    expect(entry.event).toBeUndefined();
    const eventId = (JSON.parse(exported.split('\n')[2]!) as { event: { eventId: string } }).event.eventId;
    const byEvent = (await get(`/v1/ledger/events/${eventId}`)).json();
    expect(byEvent).toEqual(entry);
    const proof = (await get(`/v1/ledger/entries/2/inclusion-proof?treeSize=${head.treeSize}`)).json();
    expect(proof.head).toEqual(head);
    expect(await checkInclusionProof(proof, head, jwks)).toEqual({ ok: true });

    const older = head;
    await notify();
    const newer = await headCoveringAll();
    expect(newer.treeSize).toBeGreaterThan(older.treeSize);
    const consistency = (await get(`/v1/ledger/consistency-proof?first=${older.treeSize}&second=${newer.treeSize}`)).json();
    expect(consistency.firstHead).toEqual(older);
    expect(await checkConsistencyProof(consistency, older, newer, jwks)).toEqual({ ok: true });
    const lines = (await get(`/v1/ledger/entries?to=${newer.treeSize}`)).body.trimEnd().split('\n');
    expect(await verifyExport(lines, { head: newer, jwks, previousHead: older })).toMatchObject({ ok: true, previousHead: { treeSize: older.treeSize } });
  });

  it("reads a case's history across services in ledger order, reads of personal data included", async () => {
    const res = await get(`/v1/ledger/cases/${caseId}/history`, anitp);
    expect(res.statusCode).toBe(200);
    const items = res.json().items as Array<{ index: number; event: { type: string; data: { caseId: string } } }>;
    expect(items.map((i) => i.event.type)).toEqual(['CaseNotified', 'NotificationAcknowledged', 'PersonalDataAccessed']);
    expect(items.every((i) => i.event.data.caseId === caseId)).toBe(true);
    expect(items.map((i) => i.index)).toEqual([...items.map((i) => i.index)].sort((a, b) => a - b));
    const access = items[2]!.event.data as unknown as { organisationId: string; purpose: string };
    expect(access).toMatchObject({ organisationId: 'anitp', purpose: 'case_management' });

    const page = (await get(`/v1/ledger/cases/${caseId}/history?limit=2`, anitp)).json();
    expect(page.items).toHaveLength(2);
    const rest = (await get(`/v1/ledger/cases/${caseId}/history?limit=2&cursor=${page.nextCursor}`, anitp)).json();
    expect(rest.items.map((i: { index: number }) => i.index)).toEqual([items[2]!.index]);
    expect(rest.nextCursor).toBeNull();
  });

  it('replays the state as of a ledger index or an instant to what the owning service had', async () => {
    const history = (await get(`/v1/ledger/cases/${caseId}/history`, anitp)).json().items as Array<{ index: number; event: { type: string; recordedAt: string } }>;
    const store = createEventStore({ schema: 'referrals' });
    const decider = createCaseDecider();
    const serviceStateAt = async (version: number) => {
      const events = await store.readStream(stack.db, `case-${caseId}`, { toVersion: version });
      return events.reduce((s, e) => decider.evolve(s, e as never), decider.initialState());
    };
    const notified = history[0]!;
    const acknowledged = history[1]!;
    const at = async (q: string) => {
      const res = await get(`/v1/ledger/cases/${caseId}/state?${q}`, anitp);
      expect(res.statusCode).toBe(200);
      return res.json().aggregates as Array<{ streamId: string; version: number; complete: boolean; state: unknown }>;
    };
    const afterNotify = await at(`atIndex=${notified.index}`);
    expect(afterNotify).toHaveLength(1);
    expect(afterNotify[0]).toMatchObject({ streamId: `case-${caseId}`, version: 1, complete: true });
    expect(afterNotify[0]!.state).toEqual(await serviceStateAt(1));
    expect(afterNotify[0]!.state).toMatchObject({ status: 'notified' });

    const afterAck = await at(`atIndex=${acknowledged.index}`);
    expect(afterAck[0]!.state).toEqual(await serviceStateAt(2));
    expect(afterAck[0]!.state).toMatchObject({ status: 'acknowledged', regionalCentreId: 'anitp-rc-bucharest' });

    const byTime = await at(`asOf=${encodeURIComponent(notified.event.recordedAt)}`);
    expect(byTime[0]!.state).toEqual(await serviceStateAt(1));
    const before = new Date(Date.parse(notified.event.recordedAt) - 1000).toISOString();
    expect(await at(`asOf=${encodeURIComponent(before)}`)).toEqual([]);
  });

  it('gives the structure to auditors and national contact points only, and a case to its participants', async () => {
    expect((await get('/v1/ledger/head', anitp)).statusCode).toBe(200);
    const ngoRes = await get('/v1/ledger/head', ngo);
    expect(ngoRes.statusCode).toBe(403);
    expect(ngoRes.json().code).toBe('ledger-access-denied');
    const wrongRole = await get('/v1/ledger/head', await stack.token('auditor-ro', ['statistics_reader']));
    expect(wrongRole.statusCode).toBe(403);
    expect((await stack.app.inject({ url: '/v1/ledger/head' })).statusCode).toBe(401);
    // The notifier takes part: its own acts in full, the contact point's as leaf hashes.
    const mine = await get(`/v1/ledger/cases/${caseId}/history`, ngo);
    expect(mine.statusCode).toBe(200);
    expect(mine.json().items.map((i: { event?: { type: string } }) => i.event?.type ?? null)).toEqual(['CaseNotified', null, null]);
    // An auditor without a part in the case gets what an unknown case gets.
    expect((await get(`/v1/ledger/cases/${caseId}/history`)).statusCode).toBe(404);
  });

  it('refuses bad input with problems naming every condition', async () => {
    const range = await get('/v1/ledger/entries?from=5&to=2');
    expect(range.statusCode).toBe(422);
    expect(range.json()).toMatchObject({ code: 'invalid-ledger-range', unmet: ['from-after-to'] });
    const both = await get('/v1/ledger/entries?from=999999&to=99999');
    expect(both.json().unmet).toEqual(['from-after-to', 'to-beyond-ledger']);
    const unknown = await get('/v1/ledger/entries?from=0&limit=3');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/limit']);
    expect((await get('/v1/ledger/cases/not-a-uuid/history')).statusCode).toBe(400);
    expect((await get(`/v1/ledger/cases/${caseId}/state?atIndex=1&asOf=2026-01-01T00:00:00Z`)).json().unmet).toEqual(['as-of-ambiguous']);
    expect((await get(`/v1/ledger/cases/${caseId}/state`)).json().unmet).toEqual(['as-of-required']);
    const proof = await get(`/v1/ledger/entries/999999/inclusion-proof?treeSize=1000000`);
    expect(proof.json().unmet).toEqual(['tree-size-beyond-ledger']);
    expect((await get('/v1/ledger/cases/01a20000-0000-7000-8000-000000000000/history')).statusCode).toBe(404);
    expect((await get('/v1/ledger/heads/123456')).json().code).toBe('ledger-head-not-found');
  });

  it('refuses to change or delete ledger entries and heads in the database itself', async () => {
    await expect(sql`update ledger.ledger_entries set leaf_hash = leaf_hash where ledger_index = 0`.execute(stack.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from ledger.tree_heads`.execute(stack.db)).rejects.toThrow(/append-only/);
    await expect(sql`truncate ledger.ledger_entries`.execute(stack.db)).rejects.toThrow(/append-only/);
  });

  it('reconciles: agrees with the services, then reports an event missing from the ledger and an entry no service has', async () => {
    await headCoveringAll();
    const clean = await reconcile(stack.db, { ledgerSchema: 'ledger', services: ['referrals'], graceMs: 0, now: new Date() });
    expect(clean.ok).toBe(true);
    expect(clean.services[0]).toMatchObject({ service: 'referrals', missingFromLedger: { count: 0 }, unknownToService: { count: 0 } });
    expect(clean.services[0]!.events).toBe(await serviceEventCount());

    // A service whose events never reached the bus: its schema exists, no relay publishes it.
    await migrate(stack.db, { schema: 'phantom' });
    const hidden = await createEventStore({ schema: 'phantom' }).append(stack.db, `return-${caseId}`, [{ type: 'ReturnRequested', data: { caseId } }], {
      expectedVersion: 'no_stream',
      metadata: { actor: 'test', organisation: 'iom-it', correlationId: 'c', causationId: null, requestId: null },
    });
    // And an entry slipped into the ledger that no service recorded.
    const forgedId = '01a20000-0000-7000-8000-00000000f00d';
    await stack.db.transaction().execute(async (tx) => {
      const { rows } = await sql<{ i: string }>`update ledger.ledger_counter set next_index = next_index + 1 returning (next_index - 1)::text as i`.execute(tx);
      await sql`insert into ledger.ledger_entries (ledger_index, event_id, service, stream_id, stream_version, event_type, case_id, recorded_at, event, leaf_hash)
        values (${rows[0]!.i}::bigint, ${forgedId}::uuid, 'referrals', 'case-forged', 1, 'CaseClosed', null, now(), '{}', ${'0'.repeat(64)})`.execute(tx);
    });
    const report = await reconcile(stack.db, { ledgerSchema: 'ledger', graceMs: 0, now: new Date(Date.now() + 1000) });
    expect(report.ok).toBe(false);
    const byService = Object.fromEntries(report.services.map((s) => [s.service, s]));
    expect(byService.phantom!.missingFromLedger.items.map((d) => d.eventId)).toEqual([hidden.events[0]!.eventId]);
    expect(byService.referrals!.unknownToService.items.map((d) => d.eventId)).toEqual([forgedId]);
    expect(byService.referrals!.missingFromLedger.count).toBe(0);
  });
});
