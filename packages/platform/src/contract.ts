import { problemCodes } from './problems.js';

/**
 * What the OpenAPI document says beyond the routes' own schemas, so generated clients get method
 * names, error types and the problem shape: a stable operationId per operation (verb + noun),
 * a tag per service, and every RFC 9457 problem response an operation can give, with the shared
 * Problem schema and the codes of that status. Applied in @fastify/swagger's transform: the
 * document only, never the serialisation of real answers.
 */

/** Stable names: clients are generated from them, so never rename one (add a new operation instead). */
export const OPERATION_IDS: Record<string, string> = {
  'GET /v1/organisations': 'listOrganisations',
  'POST /v1/organisations': 'registerOrganisation',
  'GET /v1/organisations/:orgId': 'getOrganisation',
  'PATCH /v1/organisations/:orgId': 'updateOrganisation',
  'GET /v1/webhooks/keys': 'getWebhookSigningKeys',
  'POST /v1/webhooks': 'createWebhookSubscription',
  'GET /v1/webhooks': 'listWebhookSubscriptions',
  'DELETE /v1/webhooks/:webhookId': 'deleteWebhookSubscription',
  'GET /v1/webhooks/:webhookId/deliveries': 'listWebhookDeliveries',
  'POST /v1/webhooks/:webhookId/deliveries/:deliveryId/redelivery': 'redeliverWebhook',
  'POST /v1/cases': 'notifyCase',
  'GET /v1/cases': 'listCases',
  'GET /v1/cases/:caseId': 'getCase',
  'POST /v1/cases/:caseId/acknowledgement': 'acknowledgeNotification',
  'GET /v1/cases/:caseId/personal-data': 'readPersonalData',
  'POST /v1/cases/:caseId/information-requests': 'requestInformation',
  'POST /v1/cases/:caseId/information-requests/:informationRequestId/answer': 'provideInformation',
  'POST /v1/cases/:caseId/victim-status': 'recordVictimStatus',
  'POST /v1/cases/:caseId/reflection-period': 'grantReflectionPeriod',
  'POST /v1/cases/:caseId/reflection-period/end': 'endReflectionPeriod',
  'POST /v1/cases/:caseId/consents': 'recordConsent',
  'POST /v1/cases/:caseId/consents/withdrawal': 'withdrawConsent',
  'POST /v1/cases/:caseId/participants': 'addParticipant',
  'POST /v1/cases/:caseId/participants/removal': 'removeParticipant',
  'POST /v1/cases/:caseId/service-referrals': 'makeServiceReferral',
  'POST /v1/cases/:caseId/service-referrals/:referralId/assignment': 'assignServiceReferral',
  'POST /v1/cases/:caseId/service-referrals/:referralId/acceptance': 'acceptServiceReferral',
  'POST /v1/cases/:caseId/service-referrals/:referralId/decline': 'declineServiceReferral',
  'POST /v1/cases/:caseId/service-referrals/:referralId/assistance': 'recordAssistanceDelivered',
  'POST /v1/cases/:caseId/service-referrals/:referralId/closure': 'closeServiceReferral',
  'POST /v1/cases/:caseId/monitoring-contacts': 'recordMonitoringContact',
  'POST /v1/cases/:caseId/risk-flags': 'raiseRiskFlag',
  'POST /v1/cases/:caseId/closure': 'closeCase',
  'POST /v1/cases/:caseId/reopening': 'reopenCase',
  'POST /v1/cases/:caseId/personal-data/erasure': 'erasePersonalData',
  'GET /v1/cases/:caseId/timeline': 'getCaseTimeline',
  'GET /v1/deadlines': 'listDeadlines',
  'GET /v1/proceedings/duties': 'listInformationDuties',
  'GET /v1/proceedings/:caseId': 'getProceedings',
  'POST /v1/proceedings/:caseId/participation': 'recordParticipationConsent',
  'POST /v1/proceedings/:caseId/participation/withdrawal': 'withdrawParticipation',
  'POST /v1/proceedings/:caseId/criminal-cases': 'linkCriminalCase',
  'GET /v1/proceedings/:caseId/criminal-cases/:criminalCaseId/reference': 'readCriminalCaseReference',
  'POST /v1/proceedings/:caseId/criminal-cases/:criminalCaseId/stage': 'recordCriminalCaseStage',
  'POST /v1/proceedings/:caseId/criminal-cases/:criminalCaseId/hearings': 'scheduleHearing',
  'POST /v1/proceedings/:caseId/criminal-cases/:criminalCaseId/outcomes': 'recordOutcome',
  'POST /v1/proceedings/:caseId/criminal-cases/:criminalCaseId/protection-measures': 'recordProtectionMeasure',
  'POST /v1/proceedings/:caseId/criminal-cases/:criminalCaseId/compensation-claims': 'recordCompensationClaim',
  'POST /v1/proceedings/:caseId/compensation-claims/:claimId/decision': 'recordCompensationDecision',
  'POST /v1/proceedings/:caseId/legal-counsel': 'assignLegalCounsel',
  'POST /v1/proceedings/:caseId/interpreters': 'assignInterpreter',
  'POST /v1/proceedings/:caseId/victim-informed': 'recordVictimInformed',
  'POST /v1/returns': 'requestReturn',
  'GET /v1/returns': 'listReturns',
  'GET /v1/returns/board': 'getReturnsBoard',
  'GET /v1/returns/deadlines': 'listReturnDeadlines',
  'GET /v1/returns/:returnId': 'getReturn',
  'POST /v1/returns/:returnId/acknowledgement': 'acknowledgeReturnRequest',
  'POST /v1/returns/:returnId/risk-assessments': 'recordRiskAssessment',
  'POST /v1/returns/:returnId/risk-assessments/:assessmentId/comment': 'commentRiskAssessment',
  'POST /v1/returns/:returnId/travel-document/request': 'requestTravelDocument',
  'POST /v1/returns/:returnId/travel-document/issue': 'issueTravelDocument',
  'POST /v1/returns/:returnId/travel-document/refusal': 'refuseTravelDocument',
  'POST /v1/returns/:returnId/travel-plan': 'planTravel',
  'POST /v1/returns/:returnId/reception': 'arrangeReception',
  'POST /v1/returns/:returnId/guardian': 'recordGuardianAppointed',
  'POST /v1/returns/:returnId/best-interests-determination': 'recordBestInterestsDetermination',
  'POST /v1/returns/:returnId/family-assessment': 'recordFamilyAssessment',
  'POST /v1/returns/:returnId/departure': 'recordDeparture',
  'POST /v1/returns/:returnId/transits': 'recordTransit',
  'POST /v1/returns/:returnId/arrival': 'recordArrival',
  'POST /v1/returns/:returnId/handover': 'handOverToAssistance',
  'POST /v1/returns/:returnId/follow-ups': 'recordFollowUp',
  'POST /v1/returns/:returnId/cancellation': 'cancelReturn',
  'GET /v1/ledger/head': 'getLatestTreeHead',
  'GET /v1/ledger/heads/:treeSize': 'getTreeHead',
  'GET /v1/ledger/jwks.json': 'getLedgerSigningKeys',
  'GET /v1/ledger/entries': 'exportLedgerEntries',
  'GET /v1/ledger/entries/:index': 'getLedgerEntry',
  'GET /v1/ledger/events/:eventId': 'getLedgerEntryOfEvent',
  'GET /v1/ledger/entries/:index/inclusion-proof': 'getInclusionProof',
  'GET /v1/ledger/consistency-proof': 'getConsistencyProof',
  'GET /v1/ledger/cases/:caseId/history': 'getCaseLedgerHistory',
  'GET /v1/ledger/cases/:caseId/state': 'getCaseLedgerState',
  'GET /v1/statistics/figures': 'listFigures',
  'GET /v1/statistics/figures/:figure': 'getFigure',
  'GET /v1/statistics/annual/:year': 'getAnnualTables',
  'GET /v1/statistics/annual/:year/:table': 'getAnnualTable',
};

const VERBS: Record<string, string> = { GET: 'get', POST: 'create', PUT: 'replace', PATCH: 'update', DELETE: 'delete' };
const pascal = (s: string) => s.replace(/(^|[-_.])([a-z0-9])/g, (_m, _sep, c: string) => c.toUpperCase());

/**
 * The operationId of a route: from OPERATION_IDS, or made from its method and static path
 * segments for a route not named there yet (stable too: it changes only if the path does).
 */
export function operationIdOf(method: string, url: string): string {
  const named = OPERATION_IDS[`${method} ${url}`];
  if (named) return named;
  const segments = url.split('/').filter((s) => s && s !== 'v1');
  const statics = segments.filter((s) => !s.startsWith(':'));
  const endsWithParam = segments.at(-1)?.startsWith(':') ?? false;
  const verb = method === 'GET' && !endsWithParam ? 'list' : (VERBS[method] ?? method.toLowerCase());
  return `${verb}${statics.map(pascal).join('')}`;
}

/** The service an operation belongs to, for its tag: the first path segment after the version. */
export function tagOf(url: string): string {
  const first = url.split('/').filter((s) => s && s !== 'v1')[0] ?? 'platform';
  return (
    {
      cases: 'referrals',
      deadlines: 'referrals',
      organisations: 'registry',
      returns: 'repatriation',
      proceedings: 'proceedings',
      statistics: 'statistics',
      ledger: 'ledger',
      operator: 'operator',
    }[first] ?? first
  );
}

const PROBLEM_TITLES: Record<number, string> = {
  400: 'The request is not valid (fields named by JSON pointer, values never echoed)',
  401: 'No valid bearer token',
  403: 'Your organisation or role may not do this',
  404: 'No such resource, or one your organisation does not take part in',
  409: 'The case or step does not allow this now (conditions not met are listed in `unmet`)',
  412: 'If-Match does not match the current version (ETag)',
  413: 'The body is larger than the limit',
  415: 'The body is not application/json',
  422: 'The request is well-formed but refers to something that cannot be used here',
  428: 'This change needs If-Match with the version you read',
  429: 'Too many requests: retry after Retry-After seconds',
  503: 'Temporarily unavailable (overloaded or a dependency is down): retry later',
};

/** Which problem statuses an operation can answer, from what it takes. */
export function problemStatusesOf(route: { method: string; url: string; isPublic: boolean; hasBody: boolean; hasParams: boolean; hasQuery: boolean; ifMatch: boolean }): number[] {
  // Every documented route is rate-limited, public ones too (only the hidden infrastructure routes are not).
  const s = new Set<number>([429, 503]);
  if (!route.isPublic) [401, 403].forEach((c) => s.add(c));
  if (route.hasBody || route.hasParams || route.hasQuery) s.add(400);
  if (route.hasParams) s.add(404);
  if (route.hasBody) [413, 415, 422].forEach((c) => s.add(c));
  if (route.method !== 'GET') s.add(409);
  if (route.ifMatch) [412, 428].forEach((c) => s.add(c));
  return [...s].sort((a, b) => a - b);
}

/** The Problem schema and one response per status, each listing the codes registered with that status. */
export function problemComponents(): { schemas: Record<string, unknown>; responses: Record<string, unknown> } {
  const byStatus = new Map<number, string[]>();
  for (const [code, def] of problemCodes()) byStatus.set(def.status, [...(byStatus.get(def.status) ?? []), code]);
  const responses: Record<string, unknown> = {};
  for (const status of Object.keys(PROBLEM_TITLES).map(Number)) {
    const codes = (byStatus.get(status) ?? []).sort();
    responses[`Problem${status}`] = {
      description: PROBLEM_TITLES[status],
      content: {
        'application/problem+json': {
          schema: {
            allOf: [{ $ref: '#/components/schemas/Problem' }, { type: 'object', properties: { status: { const: status }, ...(codes.length > 0 ? { code: { enum: codes } } : {}) } }],
          },
        },
      },
    };
  }
  return {
    schemas: {
      Problem: {
        type: 'object',
        description: 'RFC 9457 problem details, with the stable `code` to branch on (its page: /problems/{code}) and the `requestId` to quote.',
        required: ['type', 'title', 'status', 'detail', 'code', 'requestId'],
        properties: {
          type: { type: 'string', description: 'URI reference of the problem type: /problems/{code}' },
          title: { type: 'string' },
          status: { type: 'integer', minimum: 400, maximum: 599 },
          detail: { type: 'string' },
          code: { type: 'string', pattern: '^[a-z][a-z0-9-]{1,62}$' },
          instance: { type: 'string' },
          requestId: { type: 'string' },
          unmet: { type: 'array', items: { type: 'string' }, description: 'Conditions not met (409 gates), by stable code' },
          errors: {
            type: 'array',
            items: {
              type: 'object',
              required: ['pointer', 'code', 'message'],
              properties: { pointer: { type: 'string' }, in: { type: 'string', enum: ['body', 'query', 'params', 'headers'] }, code: { type: 'string' }, message: { type: 'string' } },
            },
          },
        },
        additionalProperties: true,
      },
    },
    responses,
  };
}

interface OpenApiOperation {
  operationId?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: unknown;
  responses?: Record<string, unknown>;
}

/**
 * Completes a generated OpenAPI document: operationIds, tags, the If-Match header of commands on
 * an existing resource, every problem response with the shared schema, servers and licence.
 */
export function completeContract(doc: Record<string, any>, opts: { servers?: Array<{ url: string; description?: string }> } = {}): Record<string, any> {
  const components = problemComponents();
  doc.components = {
    ...doc.components,
    schemas: { ...doc.components?.schemas, ...components.schemas },
    responses: { ...doc.components?.responses, ...components.responses },
  };
  doc.info = { ...doc.info, license: doc.info?.license ?? { name: 'UNLICENSED: no licence has been chosen yet; ask ANITP before reuse' } };
  doc.servers = opts.servers ?? doc.servers ?? [{ url: 'http://127.0.0.1:8080', description: 'make run (embedded), or the front door of a distributed deployment' }];
  const tags = new Set<string>();
  for (const [path, item] of Object.entries<Record<string, OpenApiOperation>>(doc.paths ?? {})) {
    const url = path.replace(/\{([^}]+)\}/g, ':$1');
    for (const [method, op] of Object.entries(item)) {
      const m = method.toUpperCase();
      op.operationId ??= operationIdOf(m, url);
      op.tags ??= [tagOf(url)];
      for (const t of op.tags) tags.add(t);
      const params = op.parameters ?? [];
      const hasParams = params.some((p) => p.in === 'path');
      const ifMatch = m !== 'GET' && hasParams;
      if (ifMatch && !params.some((p) => p.in === 'header' && p.name.toLowerCase() === 'if-match')) {
        op.parameters = [
          ...params,
          { in: 'header', name: 'If-Match', required: false, description: 'The ETag you read (e.g. "3"): the change is refused with 412 if the resource changed since.', schema: { type: 'string' } } as never,
        ];
      }
      const statuses = problemStatusesOf({
        method: m,
        url,
        isPublic: Array.isArray(op.security) && op.security.length === 0,
        hasBody: op.requestBody !== undefined,
        hasParams,
        hasQuery: params.some((p) => p.in === 'query'),
        ifMatch,
      });
      op.responses ??= {};
      for (const status of statuses) op.responses[String(status)] ??= { $ref: `#/components/responses/Problem${status}` };
    }
  }
  doc.tags = [...new Set([...(doc.tags ?? []).map((t: { name: string }) => t.name), ...tags])].sort().map((name) => ({ name, description: TAG_DESCRIPTIONS[name] ?? name }));
  return doc;
}

const TAG_DESCRIPTIONS: Record<string, string> = {
  referrals: 'The case file at the national contact point: notification, consent, participants, service referrals, deadlines',
  repatriation: 'Assisted voluntary return, with its gates',
  proceedings: 'Support during criminal proceedings, duties to inform',
  statistics: 'Privacy-protected national statistics',
  ledger: 'The verifiable shared record: signed heads, proofs, case histories',
  registry: 'The organisations that may call TRM (registry operator only for changes)',
  operator: 'Operating TRM (registry operator, role operator)',
  webhooks: 'Signed, thin notifications pushed to partners (Standard Webhooks v1a), with retries',
};
