import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryLeafHash, fromHex, verifyCheckpoint, verifyInclusion } from '@trm/audit';
import { ledgerModule, rotateKeyFile } from '@trm/ledger';
import { referralsModule } from '@trm/referrals';
import { type Stack, notification, startStack } from './support/stack.js';

/**
 * Issue 15, finding 1, as the attacker and the auditor: the ledger shows a case only to its
 * participants, each only the events its purpose sees in full (others stay a leaf hash), and
 * gives auditors and other organisations the structure of the log (indexes and leaf hashes),
 * never an event's content.
 */
let stack: Stack;
let keyDir: string;
const auth = (token: string) => ({ authorization: `Bearer ${token}` });
let tokens: Record<string, string>;
let caseId: string;
let entryCount: number;

async function get(url: string, token: string) {
  return stack.app.inject({ url, headers: auth(token) });
}

async function ledgerHolds(n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from ledger.ledger_entries`.execute(stack.db);
    if (Number(rows[0]!.n) >= n) return;
    if (Date.now() > deadline) throw new Error(`the ledger did not reach ${n} entries in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'trm-ledger-ntk-'));
  const keyFile = path.join(keyDir, 'ledger-keys.json');
  await rotateKeyFile(keyFile);
  stack = await startStack({ modules: [referralsModule, ledgerModule], env: { LEDGER_SIGNING_KEY_FILE: keyFile, LEDGER_SIGN_INTERVAL_SECONDS: '0.3' } });
  const admin = await stack.token('anitp', ['admin']);
  for (const org of [
    { id: 'anitp-rc-iasi', type: 'national_contact_point', country: 'RO', name: 'ANITP Regional Centre Iasi', parentId: 'anitp' },
    { id: 'ncp-fr', type: 'national_contact_point', country: 'FR', name: 'A foreign national contact point' },
  ]) {
    const res = await stack.app.inject({ method: 'POST', url: '/v1/organisations', headers: auth(admin), payload: org });
    expect(res.statusCode, res.body).toBe(201);
  }
  tokens = {
    ngo: await stack.token('ngo-it', ['notifier', 'case_officer']),
    anitp: await stack.token('anitp', ['case_officer']),
    iasi: await stack.token('anitp-rc-iasi', ['case_officer'], { orgType: 'national_contact_point' }),
    bucharest: await stack.token('anitp-rc-bucharest', ['case_officer']),
    foreignNcp: await stack.token('ncp-fr', ['case_officer'], { orgType: 'national_contact_point' }),
    auditor: await stack.token('auditor-ro', ['auditor']),
    shelter: await stack.token('provider-shelter', ['service_provider']),
  };
  const created = await stack.app.inject({ method: 'POST', url: '/v1/cases', headers: auth(tokens.ngo!), payload: notification() });
  expect(created.statusCode).toBe(201);
  caseId = created.json().caseId;
  stack.clock.now = new Date(stack.clock.now.getTime() + 60_000);
  const ack = await stack.app.inject({
    method: 'POST',
    url: `/v1/cases/${caseId}/acknowledgement`,
    headers: auth(tokens.anitp!),
    payload: { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', regionalCentreId: 'anitp-rc-iasi' },
  });
  expect(ack.statusCode, ack.body).toBe(200);
  expect((await get(`/v1/cases/${caseId}/personal-data?purpose=case_management`, tokens.anitp!)).statusCode).toBe(200);
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from referrals.events`.execute(stack.db);
  entryCount = Number(rows[0]!.n);
  await ledgerHolds(entryCount);
});
afterAll(async () => {
  await stack?.close();
  if (keyDir) await rm(keyDir, { recursive: true, force: true });
});

const unknownCase = '019a0000-0000-7000-8000-0000000000aa';
const seen = (res: { statusCode: number; json: () => Record<string, unknown> }) => JSON.stringify({ status: res.statusCode, ...res.json(), requestId: undefined, instance: undefined });

describe("the ledger's need-to-know (issue 15, finding 1)", () => {
  it('answers an unassigned regional centre, a foreign contact point and an auditor on every case route exactly as for an unknown case', async () => {
    for (const who of ['bucharest', 'foreignNcp', 'auditor', 'shelter'] as const) {
      // The shelter's role does not call the state at all (403 forbidden, known case or not).
      for (const route of who === 'shelter' ? ['history', 'export'] : ['history', 'export', 'state?atIndex=0']) {
        const res = await get(`/v1/ledger/cases/${caseId}/${route}`, tokens[who]!);
        const unknown = await get(`/v1/ledger/cases/${unknownCase}/${route}`, tokens[who]!);
        expect(res.statusCode, `${who} ${route}: ${res.body.slice(0, 200)}`).toBe(404);
        expect(seen(res)).toBe(seen(unknown));
        expect(res.body).not.toContain(caseId);
      }
    }
  });

  it('gives the coordinating contact point and its regional centre the whole history and the state', async () => {
    for (const who of ['anitp', 'iasi'] as const) {
      const res = await get(`/v1/ledger/cases/${caseId}/history`, tokens[who]!);
      expect(res.statusCode, res.body).toBe(200);
      const items = res.json().items as Array<{ event?: { type: string } }>;
      expect(items.map((i) => i.event?.type)).toEqual(['CaseNotified', 'NotificationAcknowledged', 'PersonalDataAccessed']);
      expect((await get(`/v1/ledger/cases/${caseId}/state?atIndex=1000`, tokens[who]!)).statusCode).toBe(200);
    }
  });

  it('gives the notifier its own acts and what its purpose sees in full, and only leaf hashes of the rest', async () => {
    const res = await get(`/v1/ledger/cases/${caseId}/history`, tokens.ngo!);
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json().items as Array<{ index: number; leafHash: string; event?: { type: string; metadata: Record<string, unknown> } }>;
    expect(items).toHaveLength(3);
    expect(items.map((i) => i.event?.type ?? null)).toEqual(['CaseNotified', null, null]);
    // The contact point's acts (who acknowledged, who read personal data: its staff) are not the notifier's to see.
    expect(items[2]!.leafHash).toMatch(/^[0-9a-f]{64}$/);
    expect(res.body).not.toContain('user-of-anitp');
    // The whole case file is the contact point's.
    const state = await get(`/v1/ledger/cases/${caseId}/state?atIndex=1000`, tokens.ngo!);
    expect(state.statusCode).toBe(403);
  });

  it('gives auditors and other organisations the structure of the log, never an event', async () => {
    for (const who of ['auditor', 'foreignNcp', 'bucharest'] as const) {
      const t = tokens[who]!;
      const exported = await get('/v1/ledger/entries?to=' + entryCount, t);
      expect(exported.statusCode, exported.body).toBe(200);
      const lines = exported.body.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(entryCount);
      for (const line of lines) expect(Object.keys(line).sort()).toEqual(['index', 'leafHash']);
      expect(exported.body).not.toContain(caseId);
      const one = await get('/v1/ledger/entries/0', t);
      expect(one.statusCode).toBe(200);
      expect(one.json().event).toBeUndefined();
      expect(one.body).not.toContain(caseId);
      const proof = await get('/v1/ledger/entries/0/inclusion-proof?treeSize=1', t);
      expect(proof.statusCode).toBe(200);
      expect(proof.json().entry ?? null).toBeNull();
      expect(proof.body).not.toContain(caseId);
    }
    const { rows } = await sql<{ id: string }>`select event_id::text as id from ledger.ledger_entries order by ledger_index limit 1`.execute(stack.db);
    const byEvent = await get(`/v1/ledger/events/${rows[0]!.id}`, tokens.auditor!);
    expect(byEvent.statusCode).toBe(200);
    expect(byEvent.json().event).toBeUndefined();
    expect(byEvent.body).not.toContain(caseId);
  });

  it('gives a participant a disclosed export that verifies against the checkpoint, and fails when one byte of an event changes', async () => {
    const deadline = Date.now() + 30_000;
    let body: { treeSize: number; checkpoint: string; items: Array<{ index: number; leafHash: string; event?: never; auditPath: string[] }> };
    for (;;) {
      const res = await get(`/v1/ledger/cases/${caseId}/export`, tokens.anitp!);
      expect(res.statusCode, res.body).toBe(200);
      body = res.json();
      if (body.treeSize >= entryCount && body.checkpoint) break;
      if (Date.now() > deadline) throw new Error('no head covering the case in time');
      await new Promise((r) => setTimeout(r, 200));
    }
    const vkey = (await get('/v1/ledger/log/vkey', tokens.anitp!)).body;
    const cp = verifyCheckpoint(body.checkpoint, vkey);
    expect(cp).toMatchObject({ ok: true, treeSize: body.treeSize });
    if (!cp.ok) return;
    const included = (index: number, leaf: Buffer, path: string[]) => verifyInclusion(index, cp.treeSize, leaf, path.map(fromHex), fromHex(cp.rootHash));
    expect(body.items.map((i) => (i.event as { type: string } | undefined)?.type)).toEqual(['CaseNotified', 'NotificationAcknowledged', 'PersonalDataAccessed']);
    for (const item of body.items) {
      const leaf = entryLeafHash({ index: item.index, event: item.event! });
      expect(leaf.toString('hex')).toBe(item.leafHash);
      expect(included(item.index, leaf, item.auditPath)).toBe(true);
    }
    // One byte of content changed: the leaf no longer is the one the checkpoint covers.
    const first = body.items[0]!;
    const changed = JSON.parse(JSON.stringify(first.event).replace('"sex":"female"', '"sex":"male_"'));
    expect(changed).not.toEqual(first.event);
    expect(included(first.index, entryLeafHash({ index: first.index, event: changed }), first.auditPath)).toBe(false);

    // The notifier: its own act in full, the rest as leaf hashes with their proofs.
    const mine = (await get(`/v1/ledger/cases/${caseId}/export`, tokens.ngo!)).json() as typeof body;
    expect(mine.items.map((i) => (i.event as { type: string } | undefined)?.type ?? null)).toEqual(['CaseNotified', null, null]);
    for (const item of mine.items) expect(included(item.index, fromHex(item.leafHash), item.auditPath)).toBe(true);
  });
});
