import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventStore } from '@trm/event-store';
import { referralsModule } from '@trm/referrals';
import type { ServiceModule } from '@trm/runtime';
import { statisticsModule } from '@trm/statistics';
import { type Stack, notification, startStack } from './support/stack.js';

/**
 * Issue 14, as an attacker with a `statistics_reader` token of a statistics office (the public
 * tier: k = 10; counts exact here, TRM_STATS_ROUNDING_BASE=1, so every attack is as sharp as it
 * can be). Real PostgreSQL and NATS; cases notified through referrals' API, the other events
 * recorded in their services' events tables.
 */

const repatriationSource: ServiceModule = { name: 'repatriation', schema: 'repatriation', defaultPort: 0, mount: async () => ({}) };

let stack: Stack;
let ngo: string;
let anitp: string;
let attacker: string;
const NOW = new Date('2026-11-20T10:00:00.000Z');
const LATER = new Date('2026-11-25T10:00:00.000Z');
const K = 10;
const meta = { actor: 'script', organisation: 'anitp', correlationId: 'c', causationId: null, requestId: null };
const auth = (t: string) => ({ authorization: `Bearer ${t}` });
const ro: string[] = [];
let md = '';

type Cell = Record<string, unknown> & { value: number | null; suppressed: boolean; structuralZero?: boolean; amounts?: Record<string, string | null>; measures?: Record<string, number | null> };

async function totalEvents(): Promise<number> {
  const { rows } = await sql<{ n: string }>`select ((select count(*) from referrals.events) + (select count(*) from repatriation.events))::text as n`.execute(stack.db);
  return Number(rows[0]!.n);
}
async function factsCaughtUp(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const want = await totalEvents();
    const { rows } = await sql<{ n: string }>`select coalesce(sum(events_applied), 0)::text as n from statistics.watermarks`.execute(stack.db);
    if (Number(rows[0]!.n) === want) return;
    if (Date.now() > deadline) throw new Error(`statistics applied ${rows[0]!.n} of ${want} events`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
async function notify(body: object): Promise<string> {
  const res = await stack.app.inject({ method: 'POST', url: '/v1/cases', headers: auth(ngo), payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().caseId;
}
async function append(schema: string, streamId: string, events: Array<{ type: string; data: object }>) {
  await createEventStore({ schema }).append(stack.db, streamId, events, { expectedVersion: 'any', metadata: meta, now: NOW });
  for (const r of stack.relays) r.wake();
}
async function release(at = LATER): Promise<string> {
  await factsCaughtUp();
  stack.clock.now = at;
  const res = await stack.app.inject({ method: 'POST', url: '/v1/statistics/releases', headers: auth(anitp), payload: {} });
  stack.clock.now = NOW;
  expect(res.statusCode, res.body).toBe(201);
  return res.json().releaseId;
}
const get = (url: string, token = attacker) => stack.app.inject({ url, headers: auth(token) });
async function cells(url: string): Promise<Cell[]> {
  const res = await get(url);
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
  return res.json().cells;
}
const cell = (cs: Cell[], match: Record<string, string>) => cs.find((c) => Object.entries(match).every(([d, v]) => c[d] === v));
const CASE_DIMS = ['month', 'sex', 'ageBand', 'minor', 'countryOfExploitation', 'form', 'crossBorder', 'situation', 'identifyingOrgType', 'regionalCentre', 'victimStatus', 'acknowledgement'];

beforeAll(async () => {
  stack = await startStack({
    modules: [referralsModule, repatriationSource, statisticsModule],
    now: NOW,
    env: { TRM_STATS_K: String(K), TRM_STATS_ROUNDING_BASE: '1', TRM_STATS_RELEASE_EVERY: '3650d', TRM_STATS_RELEASES_PER_DAY: '3' },
  });
  ngo = await stack.token('ngo-it', ['notifier']);
  anitp = await stack.token('anitp', ['case_officer']);
  attacker = await stack.token('stats-ro', ['statistics_reader']);
  // 2026: 26 Romanian victims (16 women 18–25 in forced labour, 10 men 26–35 in sexual
  // exploitation) and one Moldovan woman of 19.
  for (let i = 0; i < 16; i++) ro.push(await notify(notification({ sex: 'female', age: 24, formsOfExploitation: ['forced_labour'] })));
  for (let i = 0; i < 10; i++) ro.push(await notify(notification({ sex: 'male', age: 30, formsOfExploitation: ['sexual_exploitation'] })));
  md = await notify(notification({ sex: 'female', age: 19, citizenship: 'MD', formsOfExploitation: ['forced_labour'] }));
  // Eight of the Romanian women acknowledged on time; the rest are overdue when the release is made (LATER).
  for (const caseId of ro.slice(0, 8)) {
    const res = await stack.app.inject({
      method: 'POST',
      url: `/v1/cases/${caseId}/acknowledgement`,
      headers: { ...auth(anitp), 'if-match': '"1"' },
      payload: { keyContactId: 'officer-1', alternateContactId: 'officer-2', regionalCentreId: 'anitp-rc-bucharest' },
    });
    expect(res.statusCode, res.body).toBe(200);
  }
  // 13 identified as actual victims: 10 women, 3 men (victims-identified and victims-notified share these cells).
  for (const caseId of [...ro.slice(0, 10), ...ro.slice(16, 19)]) {
    await append('referrals', `case-${caseId}`, [{ type: 'VictimStatusDetermined', data: { caseId, status: 'actual', deciderBodyType: 'law_enforcement', determinedOn: '2026-11-20', recordedBy: 'anitp' } }]);
  }
  // Assistance: 15 shelter deliveries, 14 paid in EUR (100.00 each) and one in MDL (the Moldovan
  // woman's, 4,321.00); 12 medical deliveries in EUR, one of 10,000.00 and eleven of 10.00.
  const deliver = async (caseId: string, referralId: string, service: string, amount: string, currency: string) =>
    append('referrals', `case-${caseId}`, [
      { type: 'ServiceReferralMade', data: { caseId, referralId, service, providerOrgId: 'provider-shelter', madeBy: 'anitp', returnId: null, madeAt: NOW.toISOString() } },
      { type: 'ServiceReferralAccepted', data: { caseId, referralId, acceptedBy: 'provider-shelter' } },
      { type: 'AssistanceDelivered', data: { caseId, referralId, service, deliveredBy: 'provider-shelter', periodFrom: '2026-11-01', periodTo: '2026-11-15', cost: { amount, currency } } },
    ]);
  for (const [i, caseId] of ro.slice(0, 14).entries()) await deliver(caseId, `shelter-${i}`, 'shelter', '100.00', 'EUR');
  await deliver(md, 'shelter-md', 'shelter', '4321.00', 'MDL');
  for (const [i, caseId] of ro.slice(10, 22).entries()) await deliver(caseId, `medical-${i}`, 'medical', i === 0 ? '10000.00' : '10.00', 'EUR');
  // Twelve returns with notice days 5…16 (mean 10.5 → 11 in whole days); one with 200 days alone in its month.
  for (let i = 0; i < 12; i++) {
    const caseId = ro[i]!;
    const returnId = `ret-${i}`;
    const requestedAt = NOW.toISOString();
    await append('repatriation', `return-${returnId}`, [
      { type: 'ReturnRequested', data: { caseId, returnId, requestedBy: 'iom-it', requestedAt, plannedDepartureDate: '2026-12-10', needs: ['shelter'], escortRequired: false, travelDocumentNeeded: false, child: false, noticeDays: 5 + i, acknowledgementDueAt: requestedAt } },
    ]);
  }
  // 2025: a year with one case.
  stack.clock.now = new Date('2025-06-01T10:00:00.000Z');
  await notify(notification({ sex: 'male', age: 40, identificationDate: '2025-05-20', plannedReturnDate: '2025-07-01' }));
  stack.clock.now = NOW;
  await release();
}, 180_000);
afterAll(async () => stack?.close());

describe('finding 1: zeros and rare categories', () => {
  it('the Moldovan woman: no answer shows MD, her folded row is hidden whole, zeros included, and filters on her are refused like nobody', async () => {
    const sexes = await cells('/v1/statistics/figures/victims-notified?year=2026&groupBy=citizenship,sex');
    expect(sexes.filter((c) => c.citizenship === 'MD')).toEqual([]);
    for (const dim of CASE_DIMS) {
      const cs = await cells(`/v1/statistics/figures/victims-notified?year=2026&groupBy=citizenship,${dim}`);
      const body = JSON.stringify(cs);
      expect(body, dim).not.toContain('"MD"');
      const other = cs.filter((c) => c.citizenship === 'other' && !c.structuralZero);
      expect(other.length, dim).toBeGreaterThan(0);
      // Her line's margin is 1 < k: nothing of it is published, not even its zeros.
      expect(other.filter((c) => c.value !== null), dim).toEqual([]);
    }
    const catalogue = await get('/v1/statistics/figures');
    expect(catalogue.body).not.toContain('"MD"');
    for (const citizenship of ['MD', 'other', 'FR']) {
      const res = await get(`/v1/statistics/figures/victims-notified?year=2026&groupBy=sex&citizenship=${citizenship}`);
      expect(res.statusCode, citizenship).toBe(409);
      expect(res.json()).toMatchObject({ code: 'query-too-narrow', unmet: ['population-below-k'] });
    }
    const annual = (await get('/v1/statistics/annual/2026')).body;
    expect(annual).not.toContain('"MD"');
  });

  it('a year with one case publishes no zero and no count in any table, annual or not', async () => {
    const res = await get('/v1/statistics/annual/2025');
    expect(res.statusCode).toBe(200);
    for (const t of res.json().tables as Array<{ table: string; groupBy: string[]; cells: Cell[] }>) {
      // A figure with nobody in it (no return, no proceedings in 2025) may say so; one with the one person says nothing.
      const total = t.cells.find((c) => t.groupBy.every((d) => c[d] === 'total'))!;
      if (total.value === 0) continue;
      expect(t.cells.filter((c) => c.value !== null && !c.structuralZero), t.table).toEqual([]);
    }
    const sexAge = (res.json().tables as Array<{ table: string; cells: Cell[] }>).find((t) => t.table === 'registered-victims-by-sex-and-age')!;
    expect(sexAge.cells.every((c) => c.suppressed)).toBe(true);
    for (const dim of ['sex', 'ageBand', 'form', 'month']) {
      const cs = await cells(`/v1/statistics/figures/victims-notified?year=2025&groupBy=${dim}`);
      expect(cs.filter((c) => c.value !== null), dim).toEqual([]);
    }
  });
});

describe('finding 2: money and means', () => {
  it('an amount needs k contributors in its currency and must pass the p % rule; amounts rounded; means in whole units', async () => {
    const costs = await cells('/v1/statistics/figures/assistance-costs?year=2026&groupBy=service');
    const shelter = cell(costs, { service: 'shelter' })!;
    expect(shelter.value).toBe(15);
    // The one delivery paid in MDL is hers: never published, whatever the count around it.
    expect(shelter.amounts?.MDL ?? null).toBeNull();
    expect(shelter.amounts?.EUR).toBe('1400.00');
    // One medical delivery of 10,000 among eleven of 10: the others cannot hide it (p = 25 %).
    const medical = cell(costs, { service: 'medical' })!;
    expect(medical.value).toBe(12);
    expect(medical.amounts?.EUR).toBeNull();
    // Nor can the total give it back: total EUR minus shelter EUR would be the medical sum.
    const total = cell(costs, { service: 'total' })!;
    expect(total.amounts?.EUR ?? null).toBeNull();
    expect(total.amounts?.MDL ?? null).toBeNull();
    for (const url of ['/v1/statistics/annual/2026/assistance-costs-by-service-and-region', '/v1/statistics/figures/assistance-costs?year=2026&groupBy=sex']) {
      const cs = url.includes('annual') ? (await get(url)).json().cells as Cell[] : await cells(url);
      for (const c of cs) expect(c.amounts?.MDL ?? null, url).toBeNull();
    }
    const returns = await cells('/v1/statistics/figures/returns?year=2026');
    expect(returns[0]).toMatchObject({ value: 12, measures: { noticeDays: 11 } });
    for (const c of await cells('/v1/statistics/figures/returns?year=2026&groupBy=sex')) {
      for (const v of Object.values(c.measures ?? {})) if (v !== null) expect(Number.isInteger(v)).toBe(true);
    }
  });
});

describe('finding 4: linked tables', () => {
  it('victims-identified and acknowledgements-overdue never publish a cell that victims-notified hides, nor the reverse', async () => {
    const identifiedDims = ['month', 'sex', 'ageBand', 'minor', 'citizenship', 'countryOfExploitation', 'form', 'crossBorder', 'situation', 'identifyingOrgType', 'regionalCentre'];
    for (const dim of identifiedDims) {
      const identified = await cells(`/v1/statistics/figures/victims-identified?year=2026&groupBy=${dim}`);
      const notified = await cells(`/v1/statistics/figures/victims-notified?year=2026&groupBy=victimStatus,${dim}`);
      for (const c of identified) {
        const same = cell(notified, { victimStatus: 'actual', [dim]: c[dim] as string })!;
        expect({ dim, at: c[dim], value: c.value, suppressed: c.suppressed }).toEqual({ dim, at: c[dim], value: same.value, suppressed: same.suppressed });
      }
    }
    for (const dim of ['month', 'sex', 'ageBand', 'minor', 'citizenship', 'situation', 'identifyingOrgType', 'regionalCentre']) {
      const overdue = await cells(`/v1/statistics/figures/acknowledgements-overdue?year=2026&groupBy=acknowledgement,${dim}`);
      const notified = await cells(`/v1/statistics/figures/victims-notified?year=2026&groupBy=acknowledgement,${dim}`);
      for (const c of overdue.filter((x) => x.acknowledgement === 'late' || x.acknowledgement === 'overdue')) {
        const same = cell(notified, { acknowledgement: c.acknowledgement as string, [dim]: c[dim] as string })!;
        expect({ dim, at: c[dim], value: c.value, suppressed: c.suppressed }).toEqual({ dim, at: c[dim], value: same.value, suppressed: same.suppressed });
      }
      // On time and pending are empty by definition in the overdue figure: structural zeros.
      for (const c of overdue.filter((x) => x.acknowledgement === 'on_time' || x.acknowledgement === 'pending')) expect(c).toMatchObject({ value: 0, structuralZero: true });
    }
  });
});

describe('tiers', () => {
  it('the central contact point\'s analysts read the internal tier (k = 3, exact), everyone else the public one; each answer names its tier', async () => {
    const analyst = await stack.token('anitp', ['statistics_reader']);
    const internal = await get('/v1/statistics/figures/victims-notified?year=2026&groupBy=sex', analyst);
    expect(internal.statusCode).toBe(200);
    expect(internal.json()).toMatchObject({ tier: 'internal', disclosure: { tier: 'internal', k: 3, roundingBase: 1 } });
    const pub = await get('/v1/statistics/figures/victims-notified?year=2026&groupBy=sex');
    expect(pub.json()).toMatchObject({ tier: 'public', disclosure: { tier: 'public', k: K } });
    expect(internal.json().release).toEqual(pub.json().release);
    for (const token of [await stack.token('anitp-rc-bucharest', ['statistics_reader']), anitp]) {
      expect((await get('/v1/statistics/figures/victims-notified?year=2026', token)).json().tier).toBe('public');
    }
    // The internal tier is protected too: her citizenship (1 < 3) is folded there as well.
    expect((await get('/v1/statistics/figures/victims-notified?year=2026&groupBy=citizenship,sex', analyst)).body).not.toContain('"MD"');
  });
});

describe('finding 3: differencing', () => {
  it('within a release: a new case changes no answer until the next release, and no header counts events', async () => {
    const url = '/v1/statistics/figures/victims-notified?year=2026&groupBy=sex,ageBand';
    const before = await get(url);
    expect(before.headers['trm-complete-up-to']).toMatch(/^(\w+;complete=\d+\/\d+)(, \w+;complete=\d+\/\d+)*$/);
    expect(before.headers['trm-complete-up-to']).not.toMatch(/events=|position=|recordedAt=/);
    expect(before.json().completeUpTo.services.every((s: object) => !('eventsApplied' in s))).toBe(true);
    ro.push(await notify(notification({ sex: 'male', age: 40, formsOfExploitation: ['forced_begging'] })));
    await factsCaughtUp();
    const after = await get(url);
    expect(after.headers['trm-release']).toBe(before.headers['trm-release']);
    expect(after.body).toBe(before.body);
    expect(after.headers['trm-complete-up-to']).toBe(before.headers['trm-complete-up-to']);
  });

  it('across releases: every count published in both differs by 0 or at least k, so the new man cannot be isolated', async () => {
    const tables = async () => {
      const out = new Map<string, Cell>();
      for (const figure of ['victims-notified', 'victims-identified', 'acknowledgements-overdue']) {
        const dims = figure === 'victims-notified' ? CASE_DIMS : ['sex', 'ageBand', 'form', 'month'];
        const all = [[], ...dims.map((d) => [d]), ...dims.flatMap((a, i) => dims.slice(i + 1).map((b) => [a, b]))];
        for (const g of all) {
          const res = await get(`/v1/statistics/figures/${figure}?year=2026${g.length ? `&groupBy=${g.join(',')}` : ''}`);
          if (res.statusCode !== 200) continue;
          for (const c of res.json().cells as Cell[]) {
            const { value, suppressed, structuralZero, amounts, measures, ...at } = c;
            out.set(`${figure}|${JSON.stringify(Object.entries(at).sort())}`, c);
          }
        }
      }
      return out;
    };
    const first = await tables();
    const secondId = await release();
    const second = await tables();
    expect((await get('/v1/statistics/figures')).headers['trm-release']).toBe(secondId);
    let compared = 0;
    for (const [key, b] of second) {
      const a = first.get(key);
      if (!a || a.value === null || b.value === null) continue;
      compared++;
      const diff = Math.abs(a.value - b.value);
      expect(diff === 0 || diff >= K, `${key}: ${a.value} then ${b.value}`).toBe(true);
    }
    expect(compared).toBeGreaterThan(100);
    // The man (36+, forced begging) is in the new release's facts, but no published cell moved by him alone.
    const ages = await cells('/v1/statistics/figures/victims-notified?year=2026&groupBy=ageBand');
    expect(cell(ages, { ageBand: '36+' })!.value).toBeNull();
  });

  it('releases on demand: the central contact point only, within the daily limit', async () => {
    const rc = await stack.token('anitp-rc-bucharest', ['case_officer']);
    const refused = await stack.app.inject({ method: 'POST', url: '/v1/statistics/releases', headers: auth(rc), payload: {} });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('release-not-for-this-organisation');
    const bad = await stack.app.inject({ method: 'POST', url: '/v1/statistics/releases', headers: auth(anitp), payload: { at: 'now' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    const forAttacker = await stack.app.inject({ method: 'POST', url: '/v1/statistics/releases', headers: auth(attacker), payload: {} });
    expect(forAttacker.statusCode).toBe(403);
    // Two on-demand releases so far (policy 3 a day): one more, then 429.
    await release();
    stack.clock.now = LATER;
    const limited = await stack.app.inject({ method: 'POST', url: '/v1/statistics/releases', headers: auth(anitp), payload: {} });
    stack.clock.now = NOW;
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('release-limit-reached');
  });
});
