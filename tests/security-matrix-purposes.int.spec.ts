import {
  type AccessPurpose,
  accessPurposesOf,
  CASE_FIELDS,
  caseTimelineCell,
  caseViewFor,
  fieldMask,
  type FieldMask,
  fieldPaths,
  maskShows,
  RETURN_FIELDS,
  RETURN_TIMELINE,
  ROUTES,
  routeAccess,
  worksWith,
} from '@trm/contracts';
import type { Role } from '@trm/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ORG_PURPOSES,
  type PurposeWorld,
  REMOVED_ORG,
  STRANGER_ORG,
  buildPurposeWorld,
  registerExtraOrganisations,
} from './support/security/purpose-world.js';
import { type ApiRoute, apiRoutes, concreteUrl, exampleBody, isPerCase, key, rolesOf } from './support/security/routes.js';
import { quiescentEventCounts, type SecurityStack, startSecurityStack } from './support/security/stack.js';
import { call } from './support/security/world.js';

/**
 * Need-to-know, per purpose (issue 13, findings 1 and 2, and the access matrix): one case in which
 * every purpose takes part, attacked as each participant would, then every route of the running
 * app checked against the access matrix (packages/contracts/src/access-matrix.ts) for a
 * participant of each purpose, a removed participant and an organisation that never took part.
 * Routes added later are in the app's route table, so they are covered without editing this file.
 */
let stack: SecurityStack;
let world: PurposeWorld;
let routes: ApiRoute[];
type Json = Record<string, any>;
const tokens = new Map<string, string>();

async function tokenOf(org: string, roles: readonly Role[]): Promise<string> {
  const id = `${org}/${[...roles].sort().join(',')}`;
  let t = tokens.get(id);
  if (!t) {
    t = await stack.token(org, [...roles]);
    tokens.set(id, t);
  }
  return t;
}
const READER_ROLES: Role[] = ['case_officer', 'notifier', 'consular_officer', 'service_provider', 'child_protection_officer', 'proceedings_coordinator'];
const get = async (org: string, url: string) => {
  const res = await call(stack, await tokenOf(org, READER_ROLES), 'GET', url);
  return { status: res.statusCode, body: res.json() as Json, text: res.body };
};

beforeAll(async () => {
  stack = await startSecurityStack({ now: new Date('2026-11-20T10:00:00.000Z') });
  await registerExtraOrganisations(stack);
  world = await buildPurposeWorld(stack);
  routes = apiRoutes(stack.app);
}, 180_000);
afterAll(async () => stack?.close());

const TRAVEL_SECRETS = ['Bucharest OTP airport', '"AT"', 'police-escort', '"air"'];
const RISK_SECRETS = ['threat_from_traffickers', 'family_involved_in_trafficking', 'stigma'];
const CHILD_SECRETS = ['suitable_with_support', 'returnInBestInterests'];

describe('finding 1: a return shows each party only what its part needs', () => {
  it('a shelter with a referral on the case learns only that a return is planned', () => {
    const { status, body } = world.beforeDeparture['provider-shelter'] as Json;
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(['caseId', 'returnId', 'stage', 'timeline', 'version']);
    expect(body.stage).toBe('planned');
    expect(body.timeline).toEqual([]);
    const text = JSON.stringify(body);
    for (const secret of [...TRAVEL_SECRETS, ...RISK_SECRETS, ...CHILD_SECRETS, '2026-12-10']) expect(text).not.toContain(secret);
  });

  it('once the person arrived, the shelter sees when and who hands over, still no route', async () => {
    const { status, body } = await get('provider-shelter', `/v1/returns/${world.returnId}`);
    expect(status).toBe(200);
    expect(body.stage).toBe('arrived');
    expect(body.arrival).toEqual({ arrivedAt: '2026-12-10T15:00:00.000Z', receivedBy: 'provider-ro-shelter' });
    expect(body.handedOver).toEqual({ handedOverAt: '2026-12-10T15:00:00.000Z', receivingOrganisationId: 'provider-ro-shelter' });
    expect(body.timeline.map((e: Json) => e.type)).toEqual(['Arrived', 'HandedOverToAssistance']);
    const text = JSON.stringify(body);
    for (const secret of [...TRAVEL_SECRETS, ...RISK_SECRETS, ...CHILD_SECRETS, 'Departed', 'reintegrating']) expect(text).not.toContain(secret);
  });

  it('a police unit that is not the escort gets 404 for the return and finds it in no list', async () => {
    expect((world.beforeDeparture['police-it'] as Json).status).toBe(404);
    const one = await get('police-it', `/v1/returns/${world.returnId}`);
    expect(one.status).toBe(404);
    for (const url of [`/v1/returns?caseId=${world.caseId}`, '/v1/returns?limit=100', '/v1/returns/deadlines?limit=100']) {
      const res = await get('police-it', url);
      expect(res.status, url).toBe(200);
      expect(res.text, url).not.toContain(world.returnId);
    }
  });

  it('the police escort sees the travel plan it escorts, not the risk factors or the child safeguards', () => {
    const { status, body } = world.beforeDeparture['police-escort'] as Json;
    expect(status).toBe(200);
    expect(body.travelPlan).toMatchObject({ departureDate: '2026-12-10', escortOrganisationId: 'police-escort', transitCountries: ['AT'] });
    expect(body.riskAssessments).toEqual([
      expect.objectContaining({ level: 'medium', recommendation: 'proceed_with_measures', side: 'destination' }),
      expect.objectContaining({ level: 'medium', recommendation: 'proceed_with_measures', side: 'origin' }),
    ]);
    const text = JSON.stringify(body);
    for (const secret of [...RISK_SECRETS, ...CHILD_SECRETS]) expect(text).not.toContain(secret);
    expect(body).not.toHaveProperty('followUps');
  });

  it('the consulate sees its travel document and the planned date, not the travel plan, risks or safeguards', () => {
    const { status, body } = world.beforeDeparture['consulate-ro-it'] as Json;
    expect(status).toBe(200);
    expect(body.travelDocument).toMatchObject({ status: 'issued', consulateId: 'consulate-ro-it' });
    expect(body.plannedDepartureDate).toBe('2026-12-10');
    for (const field of ['travelPlan', 'riskAssessments', 'childSafeguards', 'transits', 'reception', 'departedAt', 'arrival']) expect(body, field).not.toHaveProperty(field);
    const text = JSON.stringify(body);
    for (const secret of [...TRAVEL_SECRETS, ...RISK_SECRETS, ...CHILD_SECRETS]) expect(text).not.toContain(secret);
  });

  it('IOM, a destination partner, plans with the travel plan but reads no risk factor, best-interests or family outcome', () => {
    const { status, body } = world.beforeDeparture['iom-it'] as Json;
    expect(status).toBe(200);
    expect(body.travelPlan).toMatchObject({ pointOfArrival: 'Bucharest OTP airport' });
    expect(body.childSafeguards).toEqual({ guardianAppointed: true });
    expect(body.riskAssessments[0]).not.toHaveProperty('factors');
    const text = JSON.stringify(body);
    for (const secret of [...RISK_SECRETS, ...CHILD_SECRETS]) expect(text).not.toContain(secret);
  });

  it('an NGO supporting proceedings, and a participant removed from the case, get 404', async () => {
    expect((world.beforeDeparture['ngo-ro-legal'] as Json).status).toBe(404);
    expect((await get(REMOVED_ORG, `/v1/returns/${world.returnId}`)).status).toBe(404);
  });

  it('child protection and the coordinating contact point see the risk factors and the safeguards', () => {
    for (const org of ['dgaspc-bucharest', 'anitp']) {
      const { body } = world.beforeDeparture[org] as Json;
      expect(body.riskAssessments[0].factors, org).toEqual(['threat_from_traffickers', 'family_involved_in_trafficking']);
      expect(body.childSafeguards.familyAssessment, org).toMatchObject({ outcome: 'suitable_with_support' });
    }
  });

  it('a command answers with the caller\'s own view: child protection arranging reception sees no travel plan', () => {
    expect(world.receptionAnswer).toHaveProperty('reception');
    expect(world.receptionAnswer).not.toHaveProperty('travelPlan');
    expect(JSON.stringify(world.receptionAnswer)).not.toContain('"AT"');
  });
});

describe('finding 2: timelines and participant lists tell each participant only what it works with', () => {
  const hidden = ['provider-psych', 'ngo-ro-legal', 'police-it'];

  it('the consulate\'s timeline shows none of the other participants\' acts', async () => {
    const { status, body } = await get('consulate-ro-it', `/v1/cases/${world.caseId}/timeline`);
    expect(status).toBe(200);
    const types = body.entries.map((e: Json) => e.type);
    for (const t of ['ServiceReferralMade', 'ServiceReferralAccepted', 'ConsentRecorded', 'ConsentWithdrawn', 'RiskFlagRaised', 'MonitoringContactRecorded']) expect(types).not.toContain(t);
    const orgs = new Set(body.entries.map((e: Json) => e.organisationId).filter(Boolean));
    for (const org of ['provider-shelter', ...hidden]) expect(orgs.has(org), org).toBe(false);
    expect(JSON.stringify(body)).not.toContain('provider-psych');
  });

  it('the shelter sees its own referral, not the psychological provider nor its risk flag', async () => {
    const { body } = await get('provider-shelter', `/v1/cases/${world.caseId}/timeline`);
    const text = JSON.stringify(body);
    expect(text).not.toContain('provider-psych');
    expect(text).not.toContain(world.psychReferralId);
    expect(body.entries.map((e: Json) => e.type)).not.toContain('RiskFlagRaised');
    expect(body.entries.filter((e: Json) => e.data).map((e: Json) => e.type)).toEqual(expect.arrayContaining(['ServiceReferralMade', 'ServiceReferralAccepted']));
  });

  it('the notifier\'s and child protection\'s participant lists show only the organisations they work with', async () => {
    const notifier = await get('ngo-it', `/v1/cases/${world.caseId}`);
    expect(notifier.body.view).toBe('notifier');
    const listed = notifier.body.participants.map((x: Json) => x.organisationId);
    expect(listed).toEqual(expect.arrayContaining(['ngo-it', 'anitp', 'anitp-rc-bucharest', 'consulate-ro-it', 'iom-it', 'dgaspc-bucharest']));
    for (const org of [...hidden, 'provider-shelter', 'provider-ro-shelter', 'police-escort', REMOVED_ORG]) expect(listed, org).not.toContain(org);

    const cp = await get('dgaspc-bucharest', `/v1/cases/${world.caseId}`);
    expect(cp.body.view).toBe('child_protection');
    const cpText = JSON.stringify(cp.body);
    for (const org of hidden) expect(cpText, org).not.toContain(org);
    // The child's services are its business; who provides the psychological one is not.
    expect(cp.body.referrals.map((x: Json) => x.service).sort()).toEqual(expect.arrayContaining(['psychological', 'shelter']));
  });

  it('the notifier\'s and child protection\'s timelines name no organisation they do not work with', async () => {
    for (const org of ['ngo-it', 'dgaspc-bucharest']) {
      const { body } = await get(org, `/v1/cases/${world.caseId}/timeline`);
      // Its own acts it knows anyway (the notifier recorded the consent to share with the provider).
      const text = JSON.stringify(body.entries.filter((e: Json) => e.organisationId !== org));
      for (const other of hidden) expect(text, `${org} sees ${other}`).not.toContain(other);
    }
  });

  it('pages the timeline: a cursor and a limit, never more than asked, every entry once', async () => {
    const whole = await get('anitp', `/v1/cases/${world.caseId}/timeline?limit=500`);
    expect(whole.body.nextCursor).toBeNull();
    const seen: Json[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: Json } = await get('anitp', `/v1/cases/${world.caseId}/timeline?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.entries.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.entries);
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    expect(seen).toEqual(whole.body.entries);
    expect(pages).toBeGreaterThan(3);
    expect((await get('anitp', `/v1/cases/${world.caseId}/timeline?limit=100000`)).status).toBe(400);
    expect((await get('anitp', `/v1/cases/${world.caseId}/timeline?cursor=garbage`)).status).toBe(400);
  });
});

// ---------------------------------------------------------------------------------------------
// The matrix, generated over every route of the running app
// ---------------------------------------------------------------------------------------------

const participantOrgs = Object.keys(ORG_PURPOSES);
function purposesOf(org: string, route: ApiRoute): Set<AccessPurpose> {
  const own = ORG_PURPOSES[org];
  if (!own) return new Set();
  return new Set(route.url.startsWith('/v1/returns') ? own.returns : own.referrals);
}
const entryOf = (r: ApiRoute) => ROUTES[key(r)];
/**
 * Refusals because of who the caller is that a service answers 409 by design, with a code naming
 * the reason (never a state of the case): law enforcement is never on the victim's side.
 */
const REFUSED_FOR_WHO = new Set(['law-enforcement-not-victims-side']);
const send = async (r: ApiRoute, org: string, roles: readonly Role[]) =>
  call(stack, await tokenOf(org, roles), r.method as 'GET' | 'POST' | 'PATCH', concreteUrl(r, world), r.hasBody ? (exampleBody(r, world) ?? {}) : undefined);
const nowhere = () => ({ ...world, caseId: '019a0000-0000-7000-8000-0000000000aa', returnId: '019a0000-0000-7000-8000-0000000000bb' });

describe('the access matrix', () => {
  it('names every route of the app, and each route declares exactly the matrix\'s rule', () => {
    const missing = routes.filter((r) => !entryOf(r)).map(key);
    expect(missing, 'routes missing from packages/contracts/src/access-matrix.ts').toEqual([]);
    const stale = Object.keys(ROUTES).filter((k) => !routes.some((r) => key(r) === k));
    expect(stale, 'access matrix entries for routes that do not exist').toEqual([]);
    const drift = routes.filter((r) => JSON.stringify(r.rule) !== JSON.stringify(routeAccess(key(r)))).map((r) => `${key(r)}: route says ${JSON.stringify(r.rule)}, matrix ${JSON.stringify(routeAccess(key(r)))}`);
    expect(drift).toEqual([]);
    // Every per-case route says which purposes may call it.
    expect(routes.filter((r) => isPerCase(r) && !entryOf(r)?.purposes && !entryOf(r)?.orgTypes).map(key)).toEqual([]);
  });
});

describe('generated: every route × purpose', () => {
  it('refuses a participant of another purpose on every per-case route (403, 404, or a 409 naming who may not), writing nothing', async () => {
    const before = await quiescentEventCounts(stack.db);
    const failures: string[] = [];
    let checked = 0;
    for (const r of routes.filter((x) => !('public' in x.rule) && isPerCase(x))) {
      const entry = entryOf(r);
      if (!entry?.purposes) continue;
      for (const org of participantOrgs) {
        const mine = purposesOf(org, r);
        if ([...mine].some((x) => entry.purposes!.includes(x))) continue;
        const res = await send(r, org, rolesOf(r.rule));
        checked++;
        const refusedForWho = res.statusCode === 403 || res.statusCode === 404 || (res.statusCode === 409 && REFUSED_FOR_WHO.has(res.json().code));
        if (!refusedForWho) failures.push(`${key(r)} as ${org} (${[...mine].join(',')}) → ${res.statusCode} ${res.body.slice(0, 140)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(100);
    expect(await quiescentEventCounts(stack.db)).toEqual(before);
  });

  it('answers a removed participant and an organisation that never took part exactly as for a case that does not exist, on every per-case route', async () => {
    const before = await quiescentEventCounts(stack.db);
    const failures: string[] = [];
    for (const r of routes.filter((x) => !('public' in x.rule) && isPerCase(x))) {
      const entry = entryOf(r);
      if (!entry?.purposes) continue;
      for (const org of [REMOVED_ORG, STRANGER_ORG]) {
        const token = await tokenOf(org, rolesOf(r.rule));
        const body = r.hasBody ? (exampleBody(r, world) ?? {}) : undefined;
        const res = await call(stack, token, r.method as 'GET', concreteUrl(r, world), body);
        const unknown = await call(stack, token, r.method as 'GET', concreteUrl(r, nowhere()), r.hasBody ? (exampleBody(r, nowhere()) ?? {}) : undefined);
        const seen = (x: typeof res) => JSON.stringify({ status: x.statusCode, ...x.json(), requestId: undefined });
        if (res.statusCode !== 404 || seen(res) !== seen(unknown)) failures.push(`${key(r)} as ${org} → ${seen(res).slice(0, 160)} (unknown case: ${seen(unknown).slice(0, 80)})`);
      }
    }
    expect(failures).toEqual([]);
    expect(await quiescentEventCounts(stack.db)).toEqual(before);
  });

  it('never shows the case in a list to a removed participant, an outsider or a purpose the list is not for', async () => {
    const failures: string[] = [];
    for (const r of routes.filter((x) => x.method === 'GET' && !('public' in x.rule) && !isPerCase(x) && entryOf(x)?.purposes)) {
      const entry = entryOf(r)!;
      for (const org of [REMOVED_ORG, STRANGER_ORG, ...participantOrgs]) {
        const mine = purposesOf(org, r);
        if ([...mine].some((x) => entry.purposes!.includes(x))) continue;
        const res = await call(stack, await tokenOf(org, rolesOf(r.rule)), 'GET', concreteUrl(r, world));
        if (res.statusCode === 200 && (res.body.includes(world.caseId) || res.body.includes(world.returnId))) failures.push(`${key(r)} as ${org} lists the case`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses every organisation type a route does not admit (403 or 404)', async () => {
    const failures: string[] = [];
    const orgTypes: Record<string, string> = { anitp: 'national_contact_point', 'ngo-it': 'ngo', 'iom-it': 'international_organisation', 'consulate-ro-it': 'consulate', 'dgaspc-bucharest': 'child_protection', 'provider-shelter': 'service_provider', 'police-it': 'law_enforcement', 'auditor-ro': 'auditor', 'stats-ro': 'statistics_consumer' };
    for (const r of routes.filter((x) => !('public' in x.rule) && entryOf(x)?.orgTypes)) {
      for (const [org, type] of Object.entries(orgTypes)) {
        if (entryOf(r)!.orgTypes!.includes(type as never)) continue;
        const res = await send(r, org, rolesOf(r.rule));
        if (res.statusCode !== 403 && res.statusCode !== 404) failures.push(`${key(r)} as ${org} (${type}) → ${res.statusCode}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('gives each purpose allowed on a per-case read no field the matrix does not show it', async () => {
    const coordinator = (await get('anitp', `/v1/cases/${world.caseId}`)).body;
    const referralsOfCase = (coordinator.referrals as Json[]).map((x) => ({ madeBy: 'anitp', providerOrgId: x.providerOrgId as string | null }));
    const participants = [...new Set((coordinator.participants as Json[]).map((x) => x.organisationId as string))].map((organisationId) => ({
      organisationId,
      purposes: accessPurposesOf((coordinator.participants as Json[]).filter((x) => x.organisationId === organisationId).map((x) => x.purpose)),
    }));
    const failures: string[] = [];
    let checked = 0;
    for (const r of routes.filter((x) => x.method === 'GET' && isPerCase(x) && entryOf(x)?.view)) {
      const entry = entryOf(r)!;
      for (const org of participantOrgs) {
        const mine = purposesOf(org, r);
        if (![...mine].some((x) => entry.purposes!.includes(x))) continue;
        const res = await send(r, org, rolesOf(r.rule));
        checked++;
        if (res.statusCode !== 200) {
          failures.push(`${key(r)} as ${org} → ${res.statusCode}`);
          continue;
        }
        const body = res.json() as Json;
        const together = worksWith({ viewer: org, participants, referrals: referralsOfCase });
        failures.push(...fieldFailures(entry.view!, body, mine, org, together).map((f) => `${key(r)} as ${org}: ${f}`));
      }
    }
    // Lists whose items are per-purpose views: the world's items as each participant gets them.
    for (const r of routes.filter((x) => x.method === 'GET' && !isPerCase(x) && entryOf(x)?.view === 'returnList')) {
      for (const org of participantOrgs) {
        const res = await send(r, org, rolesOf(r.rule));
        checked++;
        if (res.statusCode !== 200) {
          failures.push(`${key(r)} as ${org} → ${res.statusCode}`);
          continue;
        }
        const mine = purposesOf(org, r);
        for (const item of (res.json().items ?? []) as Json[]) {
          if (item.caseId !== world.caseId) continue;
          failures.push(...fieldFailures('return', item, mine, org, new Set()).map((f) => `${key(r)} as ${org}: ${f}`));
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });
});

function fieldFailures(view: string, body: Json, purposes: Set<AccessPurpose>, org: string, together: Set<string>): string[] {
  const out: string[] = [];
  const check = (value: Json, mask: FieldMask, where: string, leaves: Set<string> = new Set()) => {
    for (const path of fieldPaths(value, '', leaves)) if (!maskShows(mask, path)) out.push(`${where}${path} is not in the matrix for ${[...purposes].join(',')}`);
  };
  if (view === 'case') {
    const mask = fieldMask(CASE_FIELDS, [caseViewFor(purposes)]);
    check(body, mask, '');
    for (const p of (body.participants ?? []) as Json[]) if (mask.get('participants')?.includes('works-with') && !together.has(p.organisationId)) out.push(`lists ${p.organisationId}`);
  } else if (view === 'returnDetail' || view === 'return') {
    const mask = fieldMask(RETURN_FIELDS, purposes);
    check(body, mask, '');
    for (const e of (body.timeline ?? []) as Json[]) if (!maskShows(mask, RETURN_TIMELINE[e.type] ?? '-')) out.push(`timeline shows ${e.type}`);
  } else if (view === 'caseTimeline') {
    for (const e of (body.entries ?? []) as Json[]) {
      const own = e.organisationId === org;
      const cell = caseTimelineCell(e.type, purposes);
      if (!own && !cell) out.push(`timeline shows ${e.type}`);
      if (!own && cell === 'entry' && e.data) out.push(`timeline shows the details of ${e.type}`);
      if (e.organisationId && !together.has(e.organisationId)) out.push(`timeline names ${e.organisationId} (${e.type})`);
      if (e.actor && !purposes.has('coordination')) out.push(`timeline names the user of ${e.type}`);
    }
  }
  return out;
}
