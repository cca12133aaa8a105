import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeadlineScheduler, createReferralsContext, type ReferralsContext } from '@trm/referrals';
import { createOrgDirectory } from '@trm/platform';
import { createVault, generateMasterKey } from '@trm/vault';
import { type Stack, notification, startReferralsStack } from './support/stack.js';

const T0 = new Date('2026-11-20T10:00:00.000Z');
const DAY = 86_400_000;
let stack: Stack;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  // The host's own scheduler runs too, every 300 ms: it races the two created below.
  stack = await startReferralsStack({ now: T0, env: { TRM_DEADLINE_SCAN_SECONDS: '0.3' } });
  tokens.ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  tokens.anitp = await stack.token('anitp', ['case_officer']);
});
afterAll(async () => stack?.close());

const call = (who: string, method: 'GET' | 'POST', url: string, payload?: object) =>
  stack.app.inject({ method, url, headers: { authorization: `Bearer ${tokens[who]}` }, ...(payload ? { payload } : {}) });

let caseId: string;
let requestId: string;

describe('GET /v1/deadlines', () => {
  it('lists the caller’s due items, then overdue ones as the clock moves', async () => {
    caseId = (await call('ngo', 'POST', '/v1/cases', notification())).json().caseId;
    requestId = (await call('anitp', 'POST', `/v1/cases/${caseId}/information-requests`, { requestedFrom: 'ngo-it', items: ['birthDate'] })).json().id;
    await call('anitp', 'POST', `/v1/cases/${caseId}/reflection-period`, { startsOn: '2026-11-20', days: 30 });

    const ncp = (await call('anitp', 'GET', '/v1/deadlines')).json();
    expect(ncp.items.map((d: { kind: string; state: string }) => [d.kind, d.state])).toEqual([
      ['acknowledgement', 'due'],
      ['information_request', 'due'],
      ['reflection_period', 'due'],
    ]);
    // The notifier owes only the answer to its request.
    const notifier = (await call('ngo', 'GET', '/v1/deadlines')).json();
    expect(notifier.items.map((d: { deadlineId: string }) => d.deadlineId)).toEqual([`information-request:${requestId}`]);

    stack.clock.now = new Date(T0.getTime() + 26 * DAY);
    const later = (await call('anitp', 'GET', '/v1/deadlines')).json();
    expect(later.items.map((d: { kind: string; state: string }) => [d.kind, d.state])).toEqual([
      ['acknowledgement', 'overdue'],
      ['information_request', 'overdue'],
      ['reflection_period', 'ending_soon'],
    ]);
    expect((await call('anitp', 'GET', '/v1/deadlines?state=overdue&limit=1')).json().nextCursor).not.toBeNull();
  });
});

function schedulerContext(): ReferralsContext {
  return createReferralsContext({
    db: stack.db,
    orgs: createOrgDirectory(stack.db, { schema: 'registry' }),
    vault: createVault({ schema: 'referrals', masterKeys: `t:${generateMasterKey()}` }),
    clock: () => stack.clock.now,
  });
}

describe('deadline scheduler', () => {
  it('records each missed deadline exactly once while several schedulers race', async () => {
    stack.clock.now = new Date(T0.getTime() + 31 * DAY);
    const a = createDeadlineScheduler(schedulerContext(), { intervalMs: 60_000 });
    const b = createDeadlineScheduler(schedulerContext(), { intervalMs: 60_000 });
    await Promise.all([a.scanOnce(), b.scanOnce(), a.scanOnce(), b.scanOnce()]);

    const missed = async () =>
      (
        await sql<{ id: string; n: string }>`
          select data->>'deadlineId' as id, count(*)::text as n from referrals.events
          where event_type = 'DeadlineMissed' and data->>'caseId' = ${caseId} group by 1 order by 1`.execute(stack.db)
      ).rows;
    const expected = [
      { id: 'acknowledgement', n: '1' },
      { id: `information-request:${requestId}`, n: '1' },
      { id: 'reflection-period:1', n: '1' },
    ];
    expect(await missed()).toEqual(expected);
    // Let the host's timer run a few more passes: nothing new.
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from referrals.events`.execute(stack.db);
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await missed()).toEqual(expected);
    expect((await sql<{ n: string }>`select count(*)::text as n from referrals.events`.execute(stack.db)).rows[0]!.n).toBe(rows[0]!.n);
    expect(await a.scanOnce()).toBe(0);

    const listed = (await call('anitp', 'GET', '/v1/deadlines')).json();
    expect(listed.items.every((d: { missedRecorded: boolean }) => d.missedRecorded)).toBe(true);
  });

  it('is started by the module: the host’s timer records a new missed deadline without help', async () => {
    const other = (await call('ngo', 'POST', '/v1/cases', notification())).json().caseId;
    stack.clock.now = new Date(stack.clock.now.getTime() + 3 * DAY);
    const deadline = Date.now() + 15_000;
    let found = 0;
    while (found === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const { rows } = await sql<{ n: string }>`select count(*)::text as n from referrals.events where event_type = 'DeadlineMissed' and data->>'caseId' = ${other}`.execute(stack.db);
      found = Number(rows[0]!.n);
    }
    expect(found).toBe(1);
  });
});
