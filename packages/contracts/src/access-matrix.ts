import { z } from 'zod';
import type { ParticipantPurpose } from './referrals.events.js';
import type { OrganisationType, Role } from './values.js';
import { WEBHOOK_ROUTES } from './webhooks.access.js';

/**
 * THE ACCESS MATRIX: who may call every route (organisation types, roles, purposes in the case)
 * and which fields of the per-purpose responses (case view, return view, timelines) each purpose
 * sees. The code obeys it (routes take their `config.access` from `routeAccess`, the views project
 * through `projectFields`, the timelines through `caseTimelineCell` / `RETURN_TIMELINE`), the
 * generated security tests read it (tests/security-need-to-know.int.spec.ts checks every route of
 * the running app against it), and docs/ACCESS.md is generated from it
 * (`node apps/trm/dist/access-doc.js --write`, drift checked by tests/access-doc.spec.ts).
 *
 * Data minimisation (DOMAIN.md, "Who sees a case"): every cell is what that purpose needs, no more.
 */

// ---------------------------------------------------------------------------------------------
// Purposes: why an organisation takes part in a case (the columns of docs/ACCESS.md)
// ---------------------------------------------------------------------------------------------

export const AccessPurpose = z.enum([
  'coordination',
  'notifier',
  'child_protection',
  'service_provision',
  'travel_documents',
  'return',
  'escort',
  'reception',
  'proceedings_support',
  'law_enforcement',
]);
export type AccessPurpose = z.infer<typeof AccessPurpose>;

export const PURPOSE_DESCRIPTIONS: Record<AccessPurpose, string> = {
  coordination: 'the national contact point coordinating the case and its regional centre',
  notifier: 'the organisation that notified the case (the destination partner of a return, unless it is law enforcement)',
  child_protection: 'child protection taking part for a child',
  service_provision: 'a provider taking part for its own service referral',
  travel_documents: 'the consulate taking part for travel documents',
  return: 'an organisation taking part for the return (IOM): a destination partner',
  escort: 'the escort organisation named in the travel plan of the return',
  reception: 'the receiving organisation of the return (reception arranged, arrival, hand-over)',
  proceedings_support: 'an organisation supporting the victim in criminal proceedings',
  law_enforcement: 'police or prosecutors taking part (also a law-enforcement notifier, for returns and proceedings)',
};

/** Referrals' participant purposes as access purposes (the contact point and its centre coordinate). */
export const PURPOSE_OF_PARTICIPATION: Record<ParticipantPurpose, AccessPurpose> = {
  notifier: 'notifier',
  national_contact_point: 'coordination',
  regional_centre: 'coordination',
  travel_documents: 'travel_documents',
  service_provision: 'service_provision',
  child_protection: 'child_protection',
  return: 'return',
  proceedings_support: 'proceedings_support',
  law_enforcement: 'law_enforcement',
};

/** Access purposes of one organisation from its participant purposes (unknown ones are ignored). */
export function accessPurposesOf(participantPurposes: Iterable<string>, opts: { lawEnforcement?: boolean } = {}): Set<AccessPurpose> {
  const out = new Set<AccessPurpose>();
  for (const p of participantPurposes) {
    const a = PURPOSE_OF_PARTICIPATION[p as ParticipantPurpose];
    if (!a) continue;
    // Law enforcement never acts on the victim's side: a police unit that notified the case is
    // law enforcement in it, not the destination partner of a return.
    out.add(a === 'notifier' && opts.lawEnforcement ? 'law_enforcement' : a);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Who works with whom (participant lists, acting organisations in timelines)
// ---------------------------------------------------------------------------------------------

/** Purposes that share the steps of a return: the destination partners and those they act with. */
export const RETURN_STEP = { destination: ['notifier', 'return'] as AccessPurpose[], partners: ['travel_documents', 'child_protection'] as AccessPurpose[] };
/** Purposes that share proceedings duties (informing the victim, hearings, protection). */
export const PROCEEDINGS_DUTY: AccessPurpose[] = ['proceedings_support', 'law_enforcement'];

export const WORKS_WITH_RULE = [
  'itself and the coordinating contact point (national contact point and regional centre), always',
  'the coordinating contact point works with every participant',
  'the maker and the provider of the same service referral',
  `a destination partner (${RETURN_STEP.destination.join(', ')}) and the other return parties (${[...RETURN_STEP.destination, ...RETURN_STEP.partners].join(', ')})`,
  `the parties of proceedings duties (${PROCEEDINGS_DUTY.join(', ')}) among themselves`,
];

export interface WorksWithInput {
  viewer: string;
  /** Every participant with its access purposes (accessPurposesOf). */
  participants: ReadonlyArray<{ organisationId: string; purposes: ReadonlySet<AccessPurpose> }>;
  /** Service referrals: who made each and who provides it. */
  referrals: ReadonlyArray<{ madeBy: string | null; providerOrgId: string | null }>;
}

/**
 * The organisations `viewer` works with (WORKS_WITH_RULE): the only ones a participant list shows
 * it, and the only acting organisations its timeline names.
 */
export function worksWith(input: WorksWithInput): Set<string> {
  const { viewer } = input;
  const mine = new Set<AccessPurpose>();
  for (const p of input.participants) if (p.organisationId === viewer) for (const x of p.purposes) mine.add(x);
  const out = new Set<string>([viewer]);
  const has = (set: ReadonlySet<AccessPurpose>, list: AccessPurpose[]) => list.some((x) => set.has(x));
  for (const p of input.participants) {
    if (p.purposes.has('coordination') || mine.has('coordination')) out.add(p.organisationId);
    if (has(mine, RETURN_STEP.destination) && has(p.purposes, [...RETURN_STEP.destination, ...RETURN_STEP.partners])) out.add(p.organisationId);
    if (has(mine, RETURN_STEP.partners) && has(p.purposes, RETURN_STEP.destination)) out.add(p.organisationId);
    if (has(mine, PROCEEDINGS_DUTY) && has(p.purposes, PROCEEDINGS_DUTY)) out.add(p.organisationId);
  }
  for (const r of input.referrals) {
    if (r.madeBy === viewer && r.providerOrgId) out.add(r.providerOrgId);
    if (r.providerOrgId === viewer && r.madeBy) out.add(r.madeBy);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

export type AccessService = 'platform' | 'registry' | 'referrals' | 'repatriation' | 'proceedings' | 'ledger' | 'statistics' | 'webhooks';
export type ResponseView = 'case' | 'return' | 'returnDetail' | 'returnList' | 'caseTimeline';

export interface RouteAccessEntry {
  service: AccessService;
  /** Anyone may call it, without a token (reviewed: tests/support/security/routes.ts PUBLIC_ROUTES). */
  public?: true;
  /** Roles of the caller's token, one of which is needed. */
  roles?: readonly Role[];
  /** Only in an organisation that operates the registry (ANITP by default). */
  registryOperator?: true;
  /** Organisation types that may call; absent: any registered type. */
  orgTypes?: readonly OrganisationType[];
  /**
   * Per-case routes: the purposes in the case that may call (everyone else taking part gets 403
   * or, where the thing does not exist for it, 404; an organisation not taking part, 404).
   * Lists: the purposes whose cases the list may show. Absent: not about one case.
   */
  purposes?: readonly AccessPurpose[];
  /** The response's fields depend on the caller's purposes, as VIEW_FIELDS says. */
  view?: ResponseView;
  /** What the cells cannot say (row-level rules). */
  note?: string;
}

const ALL: readonly AccessPurpose[] = AccessPurpose.options;
const READERS: readonly Role[] = ['case_officer', 'notifier', 'consular_officer', 'service_provider', 'child_protection_officer', 'proceedings_coordinator'];
const EVERY_ROLE: readonly Role[] = ['notifier', 'case_officer', 'consular_officer', 'service_provider', 'child_protection_officer', 'proceedings_coordinator', 'auditor', 'statistics_reader', 'admin', 'operator'];
const PROCEEDINGS_ACTORS: readonly Role[] = ['proceedings_coordinator', 'case_officer'];
const LEDGER = {
  service: 'ledger',
  roles: ['auditor', 'case_officer'],
  orgTypes: ['auditor', 'national_contact_point'],
  note: 'The structure of the whole log (indexes, leaf hashes, heads, proofs), never an event: see LEDGER_DISCLOSURE.',
} as const;
/** C2SP checkpoints, vkey and hash tiles: every registered organisation monitors the log it relies on (its volume, never its content). */
const LEDGER_LOG = { service: 'ledger', roles: EVERY_ROLE, note: 'Checkpoints and hash tiles: the size and structure of the log, no event.' } as const satisfies RouteAccessEntry;
/** A case's ledger: its participants only (others 404, as for an unknown case), each event as LEDGER_DISCLOSURE says. */
const LEDGER_CASE = {
  service: 'ledger',
  roles: [...READERS, 'auditor'],
  purposes: ALL,
  note: 'Events disclosed as LEDGER_DISCLOSURE says; the others as their leaf hash only.',
} as const satisfies RouteAccessEntry;
const STATS = { service: 'statistics', roles: ['statistics_reader', 'case_officer'], orgTypes: ['statistics_consumer', 'national_contact_point'], note: 'Aggregates only, from releases.' } as const;
/** Purposes that see a return at all (RETURN_FIELDS gives them at least its id). */
const RETURN_PARTIES: readonly AccessPurpose[] = ['coordination', 'notifier', 'return', 'escort', 'reception', 'child_protection', 'travel_documents', 'service_provision'];
const DESTINATION: readonly AccessPurpose[] = ['notifier', 'return'];
const PROCEEDINGS_PARTIES: readonly AccessPurpose[] = ['coordination', 'proceedings_support', 'law_enforcement'];
const PROCEEDINGS_COORDINATORS: readonly AccessPurpose[] = ['coordination', 'proceedings_support'];

const ret = (purposes: readonly AccessPurpose[], roles: readonly Role[], note?: string): RouteAccessEntry => ({
  service: 'repatriation',
  roles,
  purposes,
  view: 'return',
  ...(note ? { note } : {}),
});
const cmd = (purposes: readonly AccessPurpose[], roles: readonly Role[], note?: string): RouteAccessEntry => ({
  service: 'referrals',
  roles,
  purposes,
  view: 'case',
  ...(note ? { note } : {}),
});
const proc = (purposes: readonly AccessPurpose[], roles: readonly Role[], note?: string): RouteAccessEntry => ({
  service: 'proceedings',
  roles,
  purposes,
  ...(note ? { note } : {}),
});

/** Every route of the composed API, keyed `METHOD /fastify/pattern`. */
export const ROUTES: Record<string, RouteAccessEntry> = {
  'GET /openapi.json': { service: 'platform', public: true },
  'GET /health/live': { service: 'platform', public: true },
  'GET /health/ready': { service: 'platform', public: true },
  'GET /problems': { service: 'platform', public: true },
  'GET /problems/:code': { service: 'platform', public: true },
  'GET /metrics': { service: 'platform', roles: ['operator'], registryOperator: true },
  'GET /bus-doctor': { service: 'platform', roles: ['operator'], registryOperator: true, note: 'The bus doctor: consumers, dead letters, relays. No case data.' },
  'POST /bus-doctor/repairs': { service: 'platform', roles: ['operator'], registryOperator: true, note: 'Replays or discards a dead letter, resets a relay checkpoint.' },

  'GET /v1/organisations': { service: 'registry', roles: EVERY_ROLE },
  'GET /v1/organisations/:orgId': { service: 'registry', roles: EVERY_ROLE },
  'POST /v1/organisations': { service: 'registry', roles: ['admin'], registryOperator: true },
  'PATCH /v1/organisations/:orgId': { service: 'registry', roles: ['admin'], registryOperator: true },

  'POST /v1/cases': { service: 'referrals', roles: ['notifier'], view: 'case', note: 'Creates a case: the caller becomes its notifier.' },
  'GET /v1/cases': { service: 'referrals', roles: READERS, purposes: ALL, note: 'Cases the organisation takes part in, with its purposes.' },
  'GET /v1/cases/:caseId': { service: 'referrals', roles: READERS, purposes: ALL, view: 'case' },
  'POST /v1/cases/:caseId/acknowledgement': cmd(['coordination'], ['case_officer']),
  'GET /v1/cases/:caseId/personal-data': {
    service: 'referrals',
    roles: ['case_officer', 'notifier', 'service_provider', 'child_protection_officer', 'consular_officer'],
    purposes: ['coordination', 'notifier', 'child_protection', 'service_provision', 'travel_documents', 'return'],
    note: 'The fields follow the legal basis of the read (docs/SECURITY.md, personal data); every read is recorded.',
  },
  'POST /v1/cases/:caseId/information-requests': cmd(['coordination'], ['case_officer']),
  'POST /v1/cases/:caseId/information-requests/:informationRequestId/answer': cmd(ALL, ['notifier', 'case_officer', 'service_provider', 'child_protection_officer', 'consular_officer'], 'Only the organisation the request is addressed to.'),
  'POST /v1/cases/:caseId/victim-status': cmd(['coordination'], ['case_officer']),
  'POST /v1/cases/:caseId/reflection-period': cmd(['coordination'], ['case_officer']),
  'POST /v1/cases/:caseId/reflection-period/end': cmd(['coordination'], ['case_officer']),
  'POST /v1/cases/:caseId/consents': cmd(['coordination', 'notifier'], ['case_officer', 'notifier']),
  'POST /v1/cases/:caseId/consents/withdrawal': cmd(['coordination', 'notifier'], ['case_officer', 'notifier']),
  'POST /v1/cases/:caseId/participants': cmd(['coordination'], ['case_officer']),
  'POST /v1/cases/:caseId/participants/removal': cmd(['coordination'], ['case_officer']),
  'POST /v1/cases/:caseId/service-referrals': cmd(['coordination', 'child_protection'], ['case_officer', 'child_protection_officer'], 'Child protection: only emergency shelter or medical care for a child, before any consent.'),
  'POST /v1/cases/:caseId/service-referrals/:referralId/assignment': cmd(['coordination'], ['case_officer']),
  'POST /v1/cases/:caseId/service-referrals/:referralId/acceptance': cmd(['service_provision'], ['service_provider'], 'Only the provider of that referral.'),
  'POST /v1/cases/:caseId/service-referrals/:referralId/decline': cmd(['service_provision'], ['service_provider'], 'Only the provider of that referral.'),
  'POST /v1/cases/:caseId/service-referrals/:referralId/assistance': cmd(['service_provision'], ['service_provider'], 'Only the provider of that referral.'),
  'POST /v1/cases/:caseId/service-referrals/:referralId/closure': cmd(['service_provision', 'coordination'], ['service_provider', 'case_officer'], 'A provider: only its own referral.'),
  'POST /v1/cases/:caseId/monitoring-contacts': cmd(['coordination', 'child_protection'], ['case_officer', 'child_protection_officer']),
  'POST /v1/cases/:caseId/risk-flags': cmd(ALL, ['case_officer', 'child_protection_officer', 'service_provider', 'notifier'], 'Any participant: a threat must always be heard.'),
  'POST /v1/cases/:caseId/closure': cmd(['coordination'], ['case_officer']),
  'POST /v1/cases/:caseId/reopening': cmd(['coordination'], ['case_officer']),
  'POST /v1/cases/:caseId/personal-data/erasure': cmd(['coordination'], ['case_officer']),
  'POST /v1/cases/:caseId/corrections': cmd(['coordination', 'notifier'], ['case_officer', 'notifier'], 'The notifier: what it submitted, within policy TRM_NOTIFIER_CORRECTION_DAYS of the notification.'),
  'POST /v1/cases/:caseId/age-assessment': cmd(['child_protection'], ['child_protection_officer']),
  'POST /v1/cases/:caseId/child-protection/acknowledgement': cmd(['child_protection'], ['child_protection_officer']),
  'GET /v1/cases/:caseId/timeline': { service: 'referrals', roles: READERS, purposes: ALL, view: 'caseTimeline', note: 'Cursor pages; entries and acting organisations as CASE_TIMELINE says.' },
  'GET /v1/deadlines': {
    service: 'referrals',
    roles: ['case_officer', 'notifier', 'child_protection_officer'],
    purposes: ['coordination', 'notifier', 'child_protection'],
    note: 'The contact points see every deadline of their cases; any other organisation only the deadlines it must meet (a request for information addressed to it; for child protection, a child\'s case to acknowledge).',
  },

  'GET /v1/proceedings/duties': proc(PROCEEDINGS_COORDINATORS, ['proceedings_coordinator'], 'Duties to inform the victim, of the cases where the caller is on the victim\'s side.'),
  'GET /v1/proceedings/:caseId': proc(PROCEEDINGS_PARTIES, PROCEEDINGS_ACTORS, 'Consulates and service providers never, whatever their purpose.'),
  'POST /v1/proceedings/:caseId/participation': proc(PROCEEDINGS_COORDINATORS, ['proceedings_coordinator']),
  'POST /v1/proceedings/:caseId/participation/withdrawal': proc(PROCEEDINGS_COORDINATORS, ['proceedings_coordinator']),
  'POST /v1/proceedings/:caseId/criminal-cases': proc(PROCEEDINGS_PARTIES, PROCEEDINGS_ACTORS),
  'GET /v1/proceedings/:caseId/criminal-cases/:criminalCaseId/reference': proc(PROCEEDINGS_PARTIES, PROCEEDINGS_ACTORS, 'Every read is recorded.'),
  'POST /v1/proceedings/:caseId/criminal-cases/:criminalCaseId/stage': proc(PROCEEDINGS_PARTIES, PROCEEDINGS_ACTORS, 'The victim\'s side only for a trial abroad, naming its source (lawyer or foreign authority).'),
  'POST /v1/proceedings/:caseId/criminal-cases/:criminalCaseId/hearings': proc(['law_enforcement'], PROCEEDINGS_ACTORS),
  'POST /v1/proceedings/:caseId/criminal-cases/:criminalCaseId/outcomes': proc(['law_enforcement'], PROCEEDINGS_ACTORS),
  'POST /v1/proceedings/:caseId/criminal-cases/:criminalCaseId/protection-measures': proc(PROCEEDINGS_PARTIES, PROCEEDINGS_ACTORS),
  'POST /v1/proceedings/:caseId/criminal-cases/:criminalCaseId/offender-releases': proc(PROCEEDINGS_PARTIES, PROCEEDINGS_ACTORS, 'Also after a withdrawal: the victim is informed unless they asked not to be.'),
  'POST /v1/proceedings/:caseId/criminal-cases/:criminalCaseId/compensation-claims': proc(PROCEEDINGS_COORDINATORS, ['proceedings_coordinator']),
  'POST /v1/proceedings/:caseId/compensation-claims/:claimId/decision': proc(PROCEEDINGS_PARTIES, PROCEEDINGS_ACTORS),
  'POST /v1/proceedings/:caseId/compensation-claims/:claimId/payments': proc(PROCEEDINGS_PARTIES, PROCEEDINGS_ACTORS),
  'POST /v1/proceedings/:caseId/legal-counsel': proc(PROCEEDINGS_COORDINATORS, ['proceedings_coordinator']),
  'POST /v1/proceedings/:caseId/interpreters': proc(PROCEEDINGS_PARTIES, PROCEEDINGS_ACTORS),
  'POST /v1/proceedings/:caseId/victim-informed': proc(PROCEEDINGS_PARTIES, PROCEEDINGS_ACTORS),

  'POST /v1/returns': ret(DESTINATION, ['notifier', 'case_officer'], 'Creates the return of a case the caller takes part in as destination partner.'),
  'POST /v1/returns/unannounced-arrivals': ret(['coordination'], ['case_officer'], 'The origin contact point records an arrival TRM had not heard of (no consent to return needed).'),
  'GET /v1/returns/board': { service: 'repatriation', roles: ['case_officer'], orgTypes: ['national_contact_point'], purposes: ['coordination'], note: 'Returns of the cases the contact point coordinates.' },
  'GET /v1/returns/deadlines': {
    service: 'repatriation',
    roles: READERS,
    purposes: ['coordination', 'notifier', 'return', 'reception', 'child_protection'],
    note: 'Deadlines of the returns whose `deadlines` the caller sees (RETURN_FIELDS).',
  },
  'GET /v1/returns': { service: 'repatriation', roles: READERS, purposes: RETURN_PARTIES, view: 'returnList', note: 'Each return as the caller\'s purposes in its case see it.' },
  'GET /v1/returns/:returnId': { service: 'repatriation', roles: READERS, purposes: RETURN_PARTIES, view: 'returnDetail' },
  'POST /v1/returns/:returnId/acknowledgement': ret(['coordination'], ['case_officer']),
  'POST /v1/returns/:returnId/risk-assessments': ret([...DESTINATION, 'coordination', 'child_protection'], ['case_officer', 'notifier', 'child_protection_officer']),
  'POST /v1/returns/:returnId/risk-assessments/:assessmentId/comment': ret(['coordination', 'child_protection'], ['case_officer', 'child_protection_officer']),
  'POST /v1/returns/:returnId/risk-resolution': ret(['coordination'], ['case_officer'], 'Only the origin\'s national contact point, when the sides\' latest assessments disagree.'),
  'POST /v1/returns/:returnId/travel-document/request': ret([...DESTINATION, 'travel_documents'], ['notifier', 'case_officer', 'consular_officer']),
  'POST /v1/returns/:returnId/travel-document/issue': ret(['travel_documents'], ['consular_officer'], 'Only the consulate the document was requested from.'),
  'POST /v1/returns/:returnId/travel-document/refusal': ret(['travel_documents'], ['consular_officer'], 'Only the consulate the document was requested from.'),
  'POST /v1/returns/:returnId/travel-plan': ret(DESTINATION, ['notifier', 'case_officer']),
  'POST /v1/returns/:returnId/reception': ret(['coordination', 'child_protection', 'service_provision'], ['case_officer', 'child_protection_officer', 'service_provider'], 'The origin contact point or child protection, or the receiving organisation itself (a provider: only its own reception); never the destination side.'),
  'POST /v1/returns/:returnId/guardian': ret(['child_protection'], ['child_protection_officer']),
  'POST /v1/returns/:returnId/best-interests-determination': ret(['child_protection'], ['child_protection_officer']),
  'POST /v1/returns/:returnId/family-assessment': ret(['child_protection'], ['child_protection_officer']),
  'POST /v1/returns/:returnId/departure': ret(DESTINATION, ['notifier', 'case_officer']),
  'POST /v1/returns/:returnId/transits': ret([...DESTINATION, 'escort'], ['notifier', 'case_officer']),
  'POST /v1/returns/:returnId/arrival': ret(['coordination', 'reception', 'child_protection'], ['case_officer', 'child_protection_officer']),
  'POST /v1/returns/:returnId/handover': ret(['coordination', 'reception'], ['case_officer', 'child_protection_officer']),
  'POST /v1/returns/:returnId/follow-ups': ret(['coordination', 'reception', 'child_protection'], ['case_officer', 'child_protection_officer']),
  'POST /v1/returns/:returnId/cancellation': ret([...DESTINATION, 'coordination', 'child_protection'], ['notifier', 'case_officer', 'child_protection_officer']),

  'GET /v1/ledger/log/checkpoint': LEDGER_LOG,
  'GET /v1/ledger/log/vkey': LEDGER_LOG,
  'GET /v1/ledger/log/tile/*': LEDGER_LOG,
  'GET /v1/ledger/head': LEDGER,
  'GET /v1/ledger/heads/:treeSize': LEDGER,
  'GET /v1/ledger/jwks.json': LEDGER,
  'GET /v1/ledger/entries': LEDGER,
  'GET /v1/ledger/entries/:index': LEDGER,
  'GET /v1/ledger/events/:eventId': LEDGER,
  'GET /v1/ledger/entries/:index/inclusion-proof': LEDGER,
  'GET /v1/ledger/consistency-proof': LEDGER,
  'GET /v1/ledger/cases/:caseId/history': LEDGER_CASE,
  'GET /v1/ledger/cases/:caseId/export': LEDGER_CASE,
  'GET /v1/ledger/cases/:caseId/state': { ...LEDGER_CASE, roles: ['case_officer', 'auditor'], purposes: ['coordination'], note: 'The whole case file rebuilt from the ledger: the coordinating contact point only.' },

  'GET /v1/statistics/figures': STATS,
  'GET /v1/statistics/figures/:figure': STATS,
  'GET /v1/statistics/annual/:year': STATS,
  'GET /v1/statistics/annual/:year/:table': STATS,
  'POST /v1/statistics/releases': {
    service: 'statistics',
    roles: ['case_officer'],
    orgTypes: ['national_contact_point'],
    note: 'Makes a release on demand: the central contact point of the home country only (regional centres and foreign contact points 403); at most TRM_STATS_RELEASES_PER_DAY a day (429).',
  },

  // Webhook subscriptions (packages/contracts/src/webhooks.access.ts).
  ...WEBHOOK_ROUTES,
};

/** The `config.access` of a route, from the matrix: routes declare `config: { access: routeAccess('GET /x') }`. */
export function routeAccess(key: string): { public: true } | { roles: readonly Role[]; registryOperator?: true } {
  const e = ROUTES[key];
  if (!e) throw new Error(`${key} is not in the access matrix (packages/contracts/src/access-matrix.ts)`);
  if (e.public) return { public: true };
  if (!e.roles || e.roles.length === 0) throw new Error(`${key}: the access matrix names no roles`);
  return { roles: e.roles, ...(e.registryOperator ? { registryOperator: true as const } : {}) };
}

/** The purposes the matrix admits on a per-case route (throws for a route the matrix does not know). */
export function routePurposes(key: string): readonly AccessPurpose[] {
  const e = ROUTES[key];
  if (!e?.purposes) throw new Error(`${key}: the access matrix names no purposes`);
  return e.purposes;
}

// ---------------------------------------------------------------------------------------------
// Fields of the per-purpose responses
// ---------------------------------------------------------------------------------------------

/**
 * A cell: `yes` the field (and everything under it) is shown; `works-with` an organisation id, or
 * rows naming one (`organisationId`), shown only when that organisation works with the caller
 * (worksWith); `own` only the rows that concern the caller (the note says which).
 */
export type FieldCell = 'yes' | 'works-with' | 'own';
export interface FieldRule<Column extends string> {
  /** Dotted path; arrays are transparent (`riskAssessments.factors` is the factors of every assessment). */
  path: string;
  cells: Partial<Record<Column, FieldCell>>;
  note?: string;
}

/** The views of the case file; a caller gets the one of its richest purpose (CASE_VIEW_OF). */
export const CaseViewName = z.enum(['national_contact_point', 'notifier', 'child_protection', 'service_provider', 'participant']);
export type CaseViewName = z.infer<typeof CaseViewName>;

/** Purposes in the order a caller holding several gets its view, with the view each gives. */
export const CASE_VIEW_OF: ReadonlyArray<[AccessPurpose, CaseViewName]> = [
  ['coordination', 'national_contact_point'],
  ['notifier', 'notifier'],
  ['child_protection', 'child_protection'],
  ['service_provision', 'service_provider'],
];

export function caseViewFor(purposes: ReadonlySet<AccessPurpose>): CaseViewName {
  return CASE_VIEW_OF.find(([p]) => purposes.has(p))?.[1] ?? 'participant';
}

const v = (...views: CaseViewName[]) => Object.fromEntries(views.map((x) => [x, 'yes'])) as Partial<Record<CaseViewName, FieldCell>>;
const EVERY_VIEW = CaseViewName.options;

/** GET /v1/cases/:caseId and every command answering with the case. */
export const CASE_FIELDS: ReadonlyArray<FieldRule<CaseViewName>> = [
  { path: 'view', cells: v(...EVERY_VIEW) },
  { path: 'caseId', cells: v(...EVERY_VIEW) },
  { path: 'version', cells: v(...EVERY_VIEW) },
  { path: 'status', cells: v(...EVERY_VIEW) },
  { path: 'minor', cells: v(...EVERY_VIEW) },
  { path: 'minorBasis', cells: v(...EVERY_VIEW), note: 'presumed, declared or assessed: why the case is a child\'s' },
  { path: 'childProtection', cells: v('national_contact_point', 'child_protection'), note: 'child protection asked to join a child\'s case, its deadline and acknowledgement' },
  { path: 'purposes', cells: v('participant'), note: 'why the caller takes part' },
  { path: 'situation', cells: v('national_contact_point', 'notifier', 'child_protection') },
  { path: 'notifyingOrganisationId', cells: v('national_contact_point', 'notifier') },
  { path: 'notifiedAt', cells: v('national_contact_point', 'notifier', 'child_protection') },
  { path: 'acknowledgementDueAt', cells: v('national_contact_point', 'notifier') },
  { path: 'acknowledgementOverdue', cells: v('national_contact_point', 'notifier') },
  { path: 'acknowledgement', cells: v('national_contact_point', 'notifier') },
  { path: 'attributes', cells: v('national_contact_point', 'notifier') },
  ...(['sex', 'ageBand', 'ageApproximate', 'citizenship', 'citizenships', 'county', 'countryOfIdentification', 'countryOfExploitation', 'formsOfExploitation', 'returnWanted', 'plannedReturnDate'] as const).map(
    (a): FieldRule<CaseViewName> => ({ path: `attributes.${a}`, cells: v('child_protection') }),
  ),
  {
    path: 'participants',
    cells: { national_contact_point: 'yes', notifier: 'works-with', child_protection: 'works-with' },
    note: 'only the organisations the caller works with',
  },
  { path: 'completeness', cells: v('national_contact_point', 'notifier') },
  { path: 'informationRequests', cells: { national_contact_point: 'yes', notifier: 'own' }, note: 'own: the requests addressed to the caller' },
  { path: 'victimStatus', cells: v('national_contact_point', 'notifier', 'child_protection') },
  { path: 'reflectionPeriod', cells: v('national_contact_point', 'notifier', 'child_protection') },
  { path: 'consents', cells: v('national_contact_point') },
  { path: 'referrals', cells: { national_contact_point: 'yes', service_provider: 'own' }, note: 'own: the provider\'s own referrals' },
  ...(['referralId', 'service', 'status'] as const).map((a): FieldRule<CaseViewName> => ({ path: `referrals.${a}`, cells: v('child_protection') })),
  { path: 'referrals.providerOrgId', cells: { child_protection: 'works-with' } },
  { path: 'monitoringContacts', cells: v('national_contact_point') },
  ...(['contactedOn', 'channel', 'wellbeing'] as const).map((a): FieldRule<CaseViewName> => ({ path: `monitoringContacts.${a}`, cells: v('child_protection') })),
  { path: 'monitoringContacts.recordedBy', cells: { child_protection: 'works-with' } },
  { path: 'riskFlags', cells: v('national_contact_point') },
  ...(['kind', 'level', 'raisedAt'] as const).map((a): FieldRule<CaseViewName> => ({ path: `riskFlags.${a}`, cells: v('child_protection') })),
  { path: 'riskFlags.raisedBy', cells: { child_protection: 'works-with' } },
  { path: 'closure', cells: v('national_contact_point', 'notifier', 'child_protection') },
  { path: 'personalDataErasedAt', cells: v('national_contact_point') },
  { path: 'deadlines', cells: v('national_contact_point') },
  { path: 'contactDataAvailable', cells: v('service_provider'), note: 'whether the provider may read the contact data of its open referral' },
];

const p = (...purposes: AccessPurpose[]) => Object.fromEntries(purposes.map((x) => [x, 'yes'])) as Partial<Record<AccessPurpose, FieldCell>>;
const D = ['notifier', 'return'] as const;
/** Coordination, destination partners, escort, reception, child protection: the travel parties. */
const TRAVEL = ['coordination', ...D, 'escort', 'reception'] as const;

/**
 * GET /v1/returns/:returnId, the list and every return command's answer. A caller holding several
 * purposes sees the union. Purposes with no cell at all (proceedings_support, law_enforcement
 * unless it is the escort) get 404: the return does not exist for them.
 */
export const RETURN_FIELDS: ReadonlyArray<FieldRule<AccessPurpose>> = [
  { path: 'returnId', cells: p(...RETURN_PARTIES) },
  { path: 'caseId', cells: p(...RETURN_PARTIES) },
  { path: 'version', cells: p(...RETURN_PARTIES) },
  { path: 'stage', cells: p(...RETURN_PARTIES), note: 'planned, arrived or cancelled: all a shelter learns before the person arrives' },
  { path: 'phase', cells: p(...TRAVEL, 'child_protection') },
  { path: 'child', cells: p(...TRAVEL, 'child_protection', 'travel_documents') },
  { path: 'stopped', cells: p('coordination', ...D, 'child_protection') },
  { path: 'requestedBy', cells: p(...TRAVEL, 'child_protection', 'travel_documents') },
  { path: 'requestedAt', cells: p(...TRAVEL, 'child_protection', 'travel_documents') },
  { path: 'plannedDepartureDate', cells: p(...TRAVEL, 'child_protection', 'travel_documents'), note: 'the consulate: for the validity of the travel title' },
  { path: 'needs', cells: p('coordination', ...D, 'reception', 'child_protection') },
  { path: 'escortRequired', cells: p(...TRAVEL, 'child_protection') },
  { path: 'travelDocumentNeeded', cells: p('coordination', ...D, 'travel_documents') },
  { path: 'noticeDays', cells: p('coordination', ...D) },
  { path: 'lateNotification', cells: p('coordination', ...D) },
  { path: 'acknowledgementDueAt', cells: p('coordination', ...D, 'child_protection') },
  { path: 'acknowledgementOverdue', cells: p('coordination', ...D, 'child_protection') },
  { path: 'acknowledgement', cells: p('coordination', ...D, 'child_protection') },
  { path: 'riskAssessments', cells: p('coordination', 'child_protection'), note: 'risk factors only to the contact point and child protection' },
  ...(['assessmentId', 'assessedBy', 'level', 'recommendation'] as const).map((a): FieldRule<AccessPurpose> => ({ path: `riskAssessments.${a}`, cells: p(...TRAVEL) })),
  { path: 'riskAssessments.measures', cells: p(...TRAVEL) },
  { path: 'riskAssessments.side', cells: p(...TRAVEL) },
  { path: 'riskAssessments.comment.commentedBy', cells: p(...D) },
  { path: 'riskAssessments.comment.concurs', cells: p(...D) },
  { path: 'riskResolution', cells: p('coordination', ...D, 'child_protection'), note: 'the origin contact point\'s resolution of a disagreement between the sides' },
  { path: 'unannounced', cells: p('coordination', 'reception', 'child_protection'), note: 'an arrival TRM had not heard of, and how the contact point learnt of it' },
  { path: 'travelDocument', cells: p('coordination', ...D, 'travel_documents') },
  { path: 'travelPlan', cells: p(...TRAVEL), note: 'date, route, transit countries, escort, point of arrival' },
  { path: 'reception', cells: p(...TRAVEL, 'child_protection') },
  { path: 'childSafeguards.guardianAppointed', cells: p('coordination', ...D, 'child_protection') },
  { path: 'childSafeguards.bestInterests', cells: p('coordination', 'child_protection'), note: 'a destination partner learns a negative outcome only as `stopped`' },
  { path: 'childSafeguards.familyAssessment', cells: p('coordination', 'child_protection') },
  { path: 'departedAt', cells: p(...TRAVEL, 'child_protection') },
  { path: 'transits', cells: p(...TRAVEL) },
  { path: 'arrival', cells: p(...TRAVEL, 'child_protection') },
  { path: 'arrival.arrivedAt', cells: p('service_provision'), note: 'a provider: once the person arrived, when and who hands over' },
  { path: 'arrival.receivedBy', cells: p('service_provision') },
  { path: 'handedOver', cells: p('coordination', 'reception', 'child_protection') },
  { path: 'handedOver.handedOverAt', cells: p(...D, 'service_provision') },
  { path: 'handedOver.receivingOrganisationId', cells: p('service_provision') },
  { path: 'followUps', cells: p('coordination', 'reception', 'child_protection'), note: 'the person\'s situation after return' },
  { path: 'cancellation', cells: p('coordination', ...D, 'child_protection') },
  { path: 'departureUnmet', cells: p('coordination', ...D, 'child_protection') },
  { path: 'nextStep', cells: p('coordination', ...D, 'child_protection') },
  { path: 'deadlines', cells: p('coordination', ...D, 'reception', 'child_protection') },
  { path: 'timeline', cells: p(...RETURN_PARTIES), note: 'GET /v1/returns/:returnId only; entries as RETURN_TIMELINE says' },
];

/** Entries of a return's timeline: each is shown to the purposes that see the field it changed. */
export const RETURN_TIMELINE: Record<string, string> = {
  ReturnRequested: 'requestedAt',
  LateNotificationFlagged: 'lateNotification',
  ReturnRequestAcknowledged: 'acknowledgement',
  RiskAssessmentRecorded: 'riskAssessments.level',
  RiskAssessmentCommented: 'riskAssessments.comment.concurs',
  RiskDisagreementResolved: 'riskResolution',
  TravelDocumentRequested: 'travelDocument',
  TravelDocumentIssued: 'travelDocument',
  TravelDocumentRefused: 'travelDocument',
  TravelPlanned: 'travelPlan',
  ReceptionArranged: 'reception',
  GuardianAppointed: 'childSafeguards.guardianAppointed',
  BestInterestsDetermined: 'childSafeguards.bestInterests',
  FamilyAssessed: 'childSafeguards.familyAssessment',
  Departed: 'departedAt',
  TransitRecorded: 'transits',
  Arrived: 'arrival.arrivedAt',
  HandedOverToAssistance: 'handedOver.handedOverAt',
  FollowUpRecorded: 'followUps',
  ReturnCancelled: 'stage',
  UnannouncedArrivalRecorded: 'unannounced',
};

/**
 * A cell of the case timeline: `all` the entry with its details; `entry` its type and time only;
 * `related` the entry with its details when it concerns the caller (its referral, a request or a
 * consent addressed to it, a participant it works with, a deadline it must meet), else nothing;
 * `related-entry` details when related, the entry alone otherwise. Its own acts a participant
 * always sees in full. The acting organisation is named only when the caller works with it.
 */
export type TimelineCell = 'all' | 'entry' | 'related' | 'related-entry';
const everyone = (cell: TimelineCell, over: Partial<Record<AccessPurpose, TimelineCell>> = {}) =>
  ({ ...Object.fromEntries(ALL.map((x) => [x, cell])), coordination: 'all', ...over }) as Partial<Record<AccessPurpose, TimelineCell>>;
const only = (cells: Partial<Record<AccessPurpose, TimelineCell>>) => ({ coordination: 'all' as const, ...cells });

export const CASE_TIMELINE: Record<string, Partial<Record<AccessPurpose, TimelineCell>>> = {
  CaseNotified: everyone('entry', { notifier: 'all' }),
  NotificationAcknowledged: only({ notifier: 'all', child_protection: 'entry' }),
  InformationRequested: everyone('related'),
  InformationProvided: everyone('related'),
  VictimStatusDetermined: only({ notifier: 'all', child_protection: 'all' }),
  ReflectionPeriodGranted: only({ notifier: 'all', child_protection: 'all' }),
  ReflectionPeriodEnded: only({ notifier: 'all', child_protection: 'all' }),
  ConsentRecorded: everyone('related'),
  ConsentWithdrawn: everyone('related'),
  ParticipantAdded: everyone('related'),
  ParticipantRemoved: everyone('related'),
  ServiceReferralMade: only({ notifier: 'related', child_protection: 'related-entry', service_provision: 'related' }),
  ServiceReferralAssigned: only({ notifier: 'related', child_protection: 'related-entry', service_provision: 'related' }),
  ServiceReferralAccepted: only({ notifier: 'related', child_protection: 'related-entry', service_provision: 'related' }),
  ServiceReferralDeclined: only({ notifier: 'related', child_protection: 'related-entry', service_provision: 'related' }),
  ServiceReferralClosed: only({ notifier: 'related', child_protection: 'related-entry', service_provision: 'related' }),
  AssistanceDelivered: only({ service_provision: 'related' }),
  MonitoringContactRecorded: only({ child_protection: 'entry' }),
  RiskFlagRaised: only({ child_protection: 'entry' }),
  CaseClosed: everyone('entry', { notifier: 'all', child_protection: 'all' }),
  CaseReopened: everyone('entry', { notifier: 'all', child_protection: 'all' }),
  PersonalDataErased: everyone('entry'),
  DeadlineMissed: everyone('related'),
  ChildProtectionRequested: only({ notifier: 'entry', child_protection: 'all' }),
  ChildProtectionAcknowledged: only({ notifier: 'entry', child_protection: 'all' }),
  AgeAssessed: only({ notifier: 'all', child_protection: 'all' }),
  AttributesCorrected: only({ notifier: 'all', child_protection: 'entry' }),
  PersonalDataAccessed: only({}),
};

/** The cell for an event type and a set of purposes (the richest of them); unknown types: coordination only. */
export function caseTimelineCell(type: string, purposes: ReadonlySet<AccessPurpose>): TimelineCell | undefined {
  const row = CASE_TIMELINE[type] ?? { coordination: 'all' };
  const cells = new Set([...purposes].map((x) => row[x]).filter((c): c is TimelineCell => c !== undefined));
  if (cells.has('all')) return 'all';
  if (cells.has('related-entry') || (cells.has('related') && cells.has('entry'))) return 'related-entry';
  if (cells.has('related')) return 'related';
  if (cells.has('entry')) return 'entry';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The ledger: which events a participant sees in full (issue 15)
// ---------------------------------------------------------------------------------------------

export const LEDGER_DISCLOSURE = [
  'an event is all or nothing (its hash covers every byte): shown in full, or as its leaf hash only',
  "in full to any participant: its own acts",
  "in full to the coordinating contact point: every event its case timeline shows in full (CASE_TIMELINE `all`), and the other services' events of the case",
  "to the other purposes, another organisation's event stays a leaf hash: its metadata names the acting staff and request ids, which only coordination sees",
  'the structural routes (the whole log) give indexes, leaf hashes, heads and proofs, never an event',
];

/** Whether a participant with `purposes` sees a ledger event of the case in full (LEDGER_DISCLOSURE). */
export function ledgerDiscloses(event: { service: string; type: string; organisation: string }, viewer: { organisationId: string; purposes: ReadonlySet<AccessPurpose> }): boolean {
  if (event.organisation === viewer.organisationId) return true;
  if (!viewer.purposes.has('coordination')) return false;
  return event.service !== 'referrals' || caseTimelineCell(event.type, new Set<AccessPurpose>(['coordination'])) === 'all';
}

// ---------------------------------------------------------------------------------------------
// Projection: the views use these, so what they answer is what the matrix says
// ---------------------------------------------------------------------------------------------

/** The rules one caller gets: for each path, the cells of its columns (several when it holds several purposes). */
export type FieldMask = ReadonlyMap<string, readonly FieldCell[]>;

export function fieldMask<C extends string>(rules: ReadonlyArray<FieldRule<C>>, columns: Iterable<C>): FieldMask {
  const cols = [...columns];
  const mask = new Map<string, FieldCell[]>();
  for (const r of rules) {
    const cells = cols.map((c) => r.cells[c]).filter((c): c is FieldCell => c !== undefined);
    if (cells.length > 0) mask.set(r.path, cells);
  }
  return mask;
}

/** Whether the mask shows `path` or anything under it. */
export function maskShows(mask: FieldMask, path: string): boolean {
  for (const k of mask.keys()) if (k === path || k.startsWith(`${path}.`) || path.startsWith(`${k}.`)) return true;
  return false;
}

export interface ProjectionContext {
  /** Organisations the caller works with (`works-with` cells). */
  worksWith?: ReadonlySet<string>;
  /** For `own` cells: whether a row of that path concerns the caller. */
  own?: Record<string, (row: unknown) => boolean>;
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function applyCells(value: unknown, cells: readonly FieldCell[], path: string, ctx: ProjectionContext): { keep: boolean; value?: unknown } {
  if (cells.includes('yes')) return { keep: true, value };
  const names = (x: unknown) => (typeof x === 'string' ? x : isRecord(x) ? x.organisationId : undefined);
  const passes = (row: unknown) =>
    cells.some((c) => {
      if (c === 'works-with') {
        const org = names(row);
        return typeof org === 'string' && (ctx.worksWith?.has(org) ?? false);
      }
      const own = ctx.own?.[path];
      if (!own) throw new Error(`no 'own' rule for ${path}`);
      return own(row);
    });
  if (Array.isArray(value)) return { keep: true, value: value.filter(passes) };
  if (value === null || value === undefined) return { keep: true, value };
  return passes(value) ? { keep: true, value } : { keep: false };
}

/**
 * `value` with only what `mask` shows: a path in the mask keeps its whole subtree (subject to its
 * cells), a path with masked paths under it keeps only those, anything else is left out.
 */
export function projectFields(value: unknown, mask: FieldMask, ctx: ProjectionContext = {}, prefix = ''): unknown {
  if (Array.isArray(value)) return value.map((x) => projectFields(x, mask, ctx, prefix));
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${k}` : k;
    const cells = mask.get(path);
    if (cells) {
      const r = applyCells(x, cells, path, ctx);
      if (r.keep && r.value !== undefined) out[k] = r.value;
      continue;
    }
    // Only parts of it are shown: a part that is not there yet (null) is left out, like a hidden field.
    const under = [...mask.keys()].some((m) => m.startsWith(`${path}.`));
    if (under && x !== null && x !== undefined) out[k] = projectFields(x, mask, ctx, path);
  }
  return out;
}

/**
 * `schema` (a zod object) cut down to what the rules of `column` show: the response schema of a
 * view, so the OpenAPI document says what the matrix says. A `works-with` scalar becomes optional.
 */
export function schemaFor<C extends string>(schema: z.ZodObject, rules: ReadonlyArray<FieldRule<C>>, columns: Iterable<C>, opts: { allOptional?: boolean } = {}): z.ZodObject {
  return pickSchema(schema, fieldMask(rules, columns), '', opts.allOptional ?? false) as z.ZodObject;
}

function unwrapped(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodNullable || schema instanceof z.ZodOptional ? unwrapped(schema.unwrap() as z.ZodType) : schema;
}

function pickSchema(schema: z.ZodType, mask: FieldMask, prefix: string, allOptional: boolean): z.ZodType {
  if (schema instanceof z.ZodNullable) return pickSchema(schema.unwrap() as z.ZodType, mask, prefix, allOptional).nullable();
  if (schema instanceof z.ZodOptional) return pickSchema(schema.unwrap() as z.ZodType, mask, prefix, allOptional).optional();
  if (schema instanceof z.ZodArray) return z.array(pickSchema(schema.element as z.ZodType, mask, prefix, allOptional));
  if (!(schema instanceof z.ZodObject)) return schema;
  const shape: Record<string, z.ZodType> = {};
  for (const [k, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const path = prefix ? `${prefix}.${k}` : k;
    const cells = mask.get(path);
    let picked: z.ZodType | undefined;
    if (cells) {
      picked = field;
      const scalar = !(field instanceof z.ZodArray) && !(field instanceof z.ZodObject);
      if (!cells.includes('yes') && cells.includes('works-with') && scalar) picked = field.optional();
    } else if ([...mask.keys()].some((m) => m.startsWith(`${path}.`))) {
      picked = pickSchema(field, mask, path, false);
      if (field.description) picked = picked.describe(field.description);
      // A partly shown object that is not there yet is left out (projectFields), not null.
      if ((field instanceof z.ZodNullable || field instanceof z.ZodOptional) && !(picked instanceof z.ZodOptional)) picked = picked.optional();
    }
    if (picked) shape[k] = allOptional && !(picked instanceof z.ZodOptional) ? picked.optional() : picked;
  }
  return z.object(shape);
}

/**
 * One response schema for callers of any of `columns`: a field every one of them sees is as in
 * `schema`, a field only some see (or see only part of) is optional, a field none sees is absent.
 * For answers whose shape varies with the caller's purposes (the return view).
 */
export function unionSchemaFor<C extends string>(schema: z.ZodObject, rules: ReadonlyArray<FieldRule<C>>, columns: Iterable<C>): z.ZodObject {
  const masks = [...columns].map((c) => fieldMask(rules, [c])).filter((m) => m.size > 0);
  return unionSchema(schema, masks, '') as z.ZodObject;
}

/** Whether `mask` shows `path` whole (it or an ancestor is in the mask with a `yes` cell). */
function showsWhole(mask: FieldMask, path: string): boolean {
  for (const [k, cells] of mask) if ((k === path || path.startsWith(`${k}.`)) && cells.includes('yes')) return true;
  return false;
}

function unionSchema(schema: z.ZodType, masks: FieldMask[], prefix: string): z.ZodType {
  if (schema instanceof z.ZodNullable) return unionSchema(schema.unwrap() as z.ZodType, masks, prefix).nullable();
  if (schema instanceof z.ZodOptional) return unionSchema(schema.unwrap() as z.ZodType, masks, prefix).optional();
  if (schema instanceof z.ZodArray) return z.array(unionSchema(schema.element as z.ZodType, masks, prefix));
  if (!(schema instanceof z.ZodObject) || masks.every((m) => showsWhole(m, prefix))) return schema;
  const shape: Record<string, z.ZodType> = {};
  for (const [k, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const path = prefix ? `${prefix}.${k}` : k;
    const seeing = masks.filter((m) => maskShows(m, path));
    if (seeing.length === 0) continue;
    let picked = unionSchema(field, seeing, path);
    if (field.description && picked !== field) picked = picked.describe(field.description);
    // Left out for some callers: a field only some see, a `works-with` scalar, a partly shown object
    // that is not there yet (projectFields leaves a null out). Arrays stay, filtered.
    const nullable = field instanceof z.ZodNullable || field instanceof z.ZodOptional;
    const worksWithScalar = seeing.some((m) => !showsWhole(m, path) && (m.get(path)?.includes('works-with') ?? false)) && !(unwrapped(field) instanceof z.ZodArray);
    const mayBeLeftOut = seeing.length < masks.length || worksWithScalar || (nullable && seeing.some((m) => !showsWhole(m, path)));
    shape[k] = mayBeLeftOut && !(picked instanceof z.ZodOptional) ? picked.optional() : picked;
  }
  return z.object(shape);
}

/** Every field path of a JSON value (arrays transparent, record-like `data` a leaf), for tests. */
export function fieldPaths(value: unknown, prefix = '', leaves: ReadonlySet<string> = new Set()): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((x) => fieldPaths(x, prefix, leaves)))];
  if (!isRecord(value) || leaves.has(prefix)) return [];
  const out: string[] = [];
  for (const [k, x] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${k}` : k;
    out.push(path, ...fieldPaths(x, path, leaves));
  }
  return out;
}
