import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { type AccessPurpose, ROUTES, routeAccess, routePurposes } from '@trm/contracts';
import type { DbOrTx } from '@trm/event-store';
import { ProblemError, decodeCursor, encodeCursor, etag, notFound, parseIfMatch, runIdempotent, sendIdempotent } from '@trm/platform';
import { isCaseParticipant } from '../domain/case-facts.js';
import { type ReturnCommand, type ReturnState, departureUnmet, gateDate, isOriginSide, isStopped, nextStep } from '../domain/return.decider.js';
import { executeReturnCommand, metadataOf } from '../handlers/return.handler.js';
import { deadlinesOf } from '../projections/return.projection.js';
import { caseFactsCurrent, loadCaseFacts } from '../repositories/case-facts.repository.js';
import {
  activeReturnOfCase,
  boardSummary,
  findReturnForOrganisation,
  listDeadlinesForOrganisation,
  listReturnsForOrganisation,
} from '../repositories/return.repository.js';
import type { CaseFacts } from '../domain/case-facts.js';
import type { RepatriationContext } from '../context.js';
import { admittedBy, projectReturn, returnPurposesOf, seesReturn, visibleTimeline } from './return-access.js';
import {
  AcknowledgeReturnBody,
  ArrivalBody,
  AssessmentParams,
  BestInterestsBody,
  Board,
  BoardQuery,
  CancelBody,
  DeadlineList,
  DeadlineQuery,
  DepartureBody,
  FamilyAssessmentBody,
  FollowUpBody,
  type FullReturnView,
  GuardianBody,
  HandOverBody,
  IssueTravelDocumentBody,
  ReceptionBody,
  RefuseTravelDocumentBody,
  RequestReturnBody,
  ReturnDetailView,
  ReturnIdParams,
  ReturnList,
  ReturnListQuery,
  ReturnView,
  RiskAssessmentBody,
  RiskCommentBody,
  RiskResolutionBody,
  TransitBody,
  UnannouncedArrivalBody,
  TravelDocumentRequestBody,
  TravelPlanBody,
} from './return.schemas.js';

const TAG = ['returns'];

/** The whole return (the coordinating contact point's view); every answer is cut from it by the access matrix. */
export function toReturnView(returnId: string, version: number, s: ReturnState, facts: CaseFacts, now: Date): FullReturnView {
  const deadlines = deadlinesOf(s)
    .filter(() => s.phase !== 'cancelled')
    .map((d) => ({ ...d, overdue: d.metAt === null && new Date(d.dueAt) < now }));
  return {
    returnId,
    caseId: s.caseId!,
    version,
    stage: s.phase === 'cancelled' ? 'cancelled' : s.phase === 'arrived' || s.phase === 'handed_over' ? 'arrived' : 'planned',
    phase: s.phase as FullReturnView['phase'],
    child: s.child,
    stopped: isStopped(s),
    requestedBy: s.requestedBy!,
    requestedAt: s.requestedAt!,
    plannedDepartureDate: s.plannedDepartureDate!,
    needs: s.needs,
    escortRequired: s.escortRequired,
    travelDocumentNeeded: s.travelDocumentNeeded,
    noticeDays: s.noticeDays ?? 0,
    lateNotification: s.lateNotification,
    acknowledgementDueAt: s.acknowledgementDueAt,
    acknowledgementOverdue: s.phase !== 'cancelled' && s.acknowledgement === null && s.acknowledgementDueAt !== null && new Date(s.acknowledgementDueAt) < now,
    acknowledgement: s.acknowledgement,
    riskAssessments: s.riskAssessments.map((a) => ({
      assessmentId: a.assessmentId,
      assessedBy: a.assessedBy,
      level: a.level,
      factors: a.factors,
      recommendation: a.recommendation,
      measures: a.measures ?? [],
      side: a.side ?? (isOriginSide(facts, a.assessedBy) ? 'origin' : 'destination'),
      comment: a.comment,
    })),
    riskResolution: s.riskResolution ?? null,
    unannounced: s.unannounced ?? null,
    travelDocument: s.travelDocument,
    travelPlan: s.travelPlan,
    reception: s.reception,
    childSafeguards: { guardianAppointed: s.guardianAppointed, bestInterests: s.bestInterests, familyAssessment: s.familyAssessment },
    departedAt: s.departedAt,
    transits: s.transits,
    arrival: s.arrival,
    handedOver: s.handedOver,
    followUps: s.followUps,
    cancellation: s.cancellation,
    departureUnmet: s.phase === 'preparing' ? departureUnmet(s, facts, gateDate(s, now)) : [],
    nextStep: nextStep(s, facts, now),
    deadlines,
  };
}

const ListCursor = z.object({ before: z.uuid() });
const DeadlineCursor = z.object({ dueAt: z.string(), returnId: z.uuid(), kind: z.string() });

type CommandBody = Pick<ReturnCommand, 'type' | 'data'>;

/** 403 unless the caller holds a purpose the access matrix admits on the route. */
function requirePurpose(route: string, purposes: ReadonlySet<AccessPurpose>): void {
  const admitted = routePurposes(route);
  if (![...purposes].some((p) => admitted.includes(p))) {
    throw new ProblemError(403, 'not-your-step', `This step is for ${admitted.join(', ')} (docs/ACCESS.md); your organisation takes part in the case as ${[...purposes].join(', ') || 'none of them'}.`);
  }
}

export async function returnRoutes(app: FastifyInstance, ctx: RepatriationContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { schema } = ctx;

  /**
   * A new return of a case (a request, or an arrival nobody announced): the caller takes part in
   * the case for a purpose the route admits, the case has no return under way, and the answer is
   * the caller's own view (201). An idempotent replay is answered only while the caller still
   * takes part in the case.
   */
  async function createReturn(
    request: FastifyRequest,
    reply: FastifyReply,
    route: 'POST /v1/returns' | 'POST /v1/returns/unannounced-arrivals',
    caseId: string,
    alreadyActive: string,
    command: (returnId: string) => Omit<ReturnCommand, 'metadata'>,
  ) {
    const now = ctx.clock();
    const answer = await runIdempotent({ db: ctx.db, schema, request }, async (tx) => {
      const facts = await loadCaseFacts(tx, schema, caseId);
      if (!facts || !isCaseParticipant(facts, request.principal.orgId)) throw notFound('case');
      requirePurpose(route, returnPurposesOf(facts, null, request.principal.orgId, request.principal.orgType));
      if (await activeReturnOfCase(tx, schema, caseId)) throw new ProblemError(409, 'return-already-active', alreadyActive);
      const returnId = uuidv7();
      const { state, version } = await executeReturnCommand(
        ctx,
        tx,
        returnId,
        { ...command(returnId), metadata: metadataOf(request, now, facts) } as ReturnCommand,
        undefined,
        request,
      );
      return {
        statusCode: 201,
        headers: { location: `/v1/returns/${returnId}`, etag: etag(version) },
        body: viewFor(request, returnId, version, state, facts, now),
      };
    });
    if (answer.replayed) {
      const facts = await loadCaseFacts(ctx.db, schema, caseId);
      if (!facts || !isCaseParticipant(facts, request.principal.orgId)) throw notFound('case');
    }
    ctx.committed();
    return sendIdempotent(reply, answer);
  }

  /**
   * The return, its case facts and the caller's purposes in it, if the caller's organisation takes
   * part and its purposes see anything of a return (the access matrix); a 404 otherwise, exactly as
   * if it did not exist (law enforcement that is not the escort, an NGO supporting proceedings).
   */
  async function visible(tx: DbOrTx, returnId: string, request: FastifyRequest) {
    const found = await findReturnForOrganisation(tx, schema, returnId, request.principal.orgId);
    if (!found) throw notFound('return');
    const facts = await loadCaseFacts(tx, schema, found.caseId);
    if (!facts || !isCaseParticipant(facts, request.principal.orgId)) throw notFound('return');
    const purposes = returnPurposesOf(facts, found.state, request.principal.orgId, request.principal.orgType);
    if (!seesReturn(purposes)) throw notFound('return');
    return { found, facts, purposes };
  }

  /** The return as the caller's purposes see it now. */
  const viewFor = (request: FastifyRequest, returnId: string, version: number, state: ReturnState, facts: CaseFacts, now: Date) =>
    projectReturn(toReturnView(returnId, version, state, facts, now), returnPurposesOf(facts, state, request.principal.orgId, request.principal.orgType));

  /** Registry lookups happen before the transaction: on PGlite there is one connection, and the transaction holds it. */
  async function requireRegistered(orgId: string | null | undefined, pointer: string): Promise<void> {
    if (!orgId) return;
    if (await ctx.orgs.get(orgId)) return;
    throw new ProblemError(422, 'unknown-organisation-reference', 'The request names an organisation that is not in the registry.', {
      errors: [{ pointer, in: 'body', code: 'unknown_organisation', message: 'not a registered organisation' }],
    });
  }

  /**
   * One command on an existing return: idempotent, If-Match aware, answered with the return as it
   * now is, as the caller's purposes see it. `route` names the route in the access matrix.
   */
  async function onReturn(
    request: FastifyRequest<{ Params: { returnId: string } }>,
    reply: FastifyReply,
    command: CommandBody,
    route: string,
    opts: { checkFactsCurrent?: boolean } = {},
  ): Promise<FastifyReply> {
    const { returnId } = request.params;
    const ifMatch = parseIfMatch(request);
    const now = ctx.clock();
    const answer = await runIdempotent({ db: ctx.db, schema, request }, async (tx) => {
      const seen = await visible(tx, returnId, request);
      const { purposes } = seen;
      requirePurpose(route, purposes);
      // Departure: has repatriation applied everything referrals holds for the case? (a flag or a withdrawal may be in flight)
      const facts = opts.checkFactsCurrent ? { ...seen.facts, current: await caseFactsCurrent(tx, schema, ctx.factsSource, seen.facts.caseId) } : seen.facts;
      const { state, version } = await executeReturnCommand(
        ctx,
        tx,
        returnId,
        { ...command, metadata: metadataOf(request, now, facts) } as ReturnCommand,
        ifMatch,
        request,
      );
      return { statusCode: 200, headers: { etag: etag(version) }, body: viewFor(request, returnId, version, state, facts, now) };
    });
    // A stored answer shows the return: never replayed to an organisation that left the case since.
    if (answer.replayed) await visible(ctx.db, returnId, request);
    ctx.committed();
    return sendIdempotent(reply, answer);
  }

  const commandRoute = <B extends z.ZodType>(
    path: string,
    opts: {
      summary: string;
      description: string;
      body: B;
      command: (body: z.output<B>) => CommandBody;
      registry?: (body: z.output<B>) => Array<[string | null | undefined, string]>;
      checkFactsCurrent?: boolean;
    },
  ) => {
    const route = `POST /v1/returns/:returnId${path}`;
    r.post(
      `/v1/returns/:returnId${path}`,
      {
        config: { access: routeAccess(route) },
        schema: {
          tags: TAG,
          summary: opts.summary,
          description: `${opts.description} Send \`If-Match\` with the return's ETag to act only on the version you read, and \`Idempotency-Key\` so a retry returns the first answer.`,
          params: ReturnIdParams,
          body: opts.body,
          response: { 200: ReturnView },
        },
      },
      async (request, reply) => {
        const body = request.body as z.output<B>;
        for (const [orgId, pointer] of opts.registry?.(body) ?? []) await requireRegistered(orgId, pointer);
        return onReturn(request as FastifyRequest<{ Params: { returnId: string } }>, reply as unknown as FastifyReply, opts.command(body), route, {
          ...(opts.checkFactsCurrent ? { checkFactsCurrent: true } : {}),
        });
      },
    );
  };

  r.post(
    '/v1/returns',
    {
      config: { access: routeAccess('POST /v1/returns') },
      schema: {
        tags: TAG,
        summary: 'Request an assisted voluntary return',
        description:
          'Records `ReturnRequested` (and `LateNotificationFlagged` when the planned departure is sooner than the notice policy, 10 days by default, after the request reaches the national contact point). Needs the victim\'s consent to return; one active return per case. By the destination partner: the notifier of the case or an organisation taking part for the return (IOM).',
        body: RequestReturnBody,
        response: { 201: ReturnView },
      },
    },
    (request, reply) =>
      createReturn(request, reply, 'POST /v1/returns', request.body.caseId, 'The case already has a return under way.', (returnId) => ({
        type: 'RequestReturn',
        data: {
          returnId,
          plannedDepartureDate: request.body.plannedDepartureDate,
          needs: request.body.needs,
          escortRequired: request.body.escortRequired,
          travelDocumentNeeded: request.body.travelDocumentNeeded,
        },
      })),
  );

  r.post(
    '/v1/returns/unannounced-arrivals',
    {
      config: { access: routeAccess('POST /v1/returns/unannounced-arrivals') },
      schema: {
        tags: TAG,
        summary: 'Record an unannounced or deported arrival (origin national contact point)',
        description:
          'Records `UnannouncedArrivalRecorded`: a person arrived whom TRM had not heard of (no return request, an arrival learnt from the border police, a deportation notice, the person themselves…). A fact, not a planned return: no consent to return is needed. It starts a return at `arrived`, so hand-over to assistance and follow-ups go on as for any return, and statistics count a return without notification. Only the national contact point (or regional centre) of the case; the case is notified in referrals first (by the contact point itself when nobody had). 409 `return-already-active` when the case has a return under way.',
        body: UnannouncedArrivalBody,
        response: { 201: ReturnView },
      },
    },
    (request, reply) =>
      createReturn(
        request,
        reply,
        'POST /v1/returns/unannounced-arrivals',
        request.body.caseId,
        'The case already has a return under way: record its arrival there.',
        (returnId) => ({ type: 'RecordUnannouncedArrival', data: { returnId, ...request.body } }),
      ),
  );

  r.get(
    '/v1/returns/board',
    {
      config: { access: routeAccess('GET /v1/returns/board') },
      schema: {
        tags: TAG,
        summary: 'Board of returns in progress (national contact point)',
        description:
          'Returns of the cases where your organisation is the national contact point or the regional centre, still under way (not cancelled, follow-ups not all recorded), newest first, each with its next step, the conditions its departure still lacks, and its deadlines. The summary counts late notifications and overdue deadlines.',
        querystring: BoardQuery,
        response: { 200: Board },
      },
    },
    async (request) => {
      if (!ROUTES['GET /v1/returns/board']!.orgTypes!.includes(request.principal.orgType)) {
        throw new ProblemError(403, 'not-a-contact-point', 'The board is for national contact points.');
      }
      const now = ctx.clock();
      const orgId = request.principal.orgId;
      const cursor = request.query.cursor ? decodeCursor(request.query.cursor, ListCursor) : undefined;
      const limit = request.query.limit;
      const rows = await listReturnsForOrganisation(ctx.db, schema, orgId, { inProgress: true, asContactPoint: true, before: cursor?.before, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const items = [];
      for (const row of page) {
        const facts = await loadCaseFacts(ctx.db, schema, row.caseId);
        if (!facts) continue;
        const v = toReturnView(row.returnId, row.version, row.state, facts, now);
        items.push({
          returnId: v.returnId,
          caseId: v.caseId,
          phase: v.phase,
          child: v.child,
          stopped: v.stopped,
          plannedDepartureDate: v.plannedDepartureDate,
          lateNotification: v.lateNotification,
          noticeDays: v.noticeDays,
          nextStep: v.nextStep,
          unmet: v.departureUnmet,
          deadlines: v.deadlines.filter((d) => d.metAt === null),
        });
      }
      const last = page.at(-1);
      return {
        summary: await boardSummary(ctx.db, schema, orgId, now),
        items,
        nextCursor: rows.length > limit && last ? encodeCursor({ before: last.returnId }) : null,
      };
    },
  );

  r.get(
    '/v1/returns/deadlines',
    {
      config: { access: routeAccess('GET /v1/returns/deadlines') },
      schema: {
        tags: TAG,
        summary: 'Deadlines of the returns your organisation takes part in',
        description:
          'The acknowledgement of each return request (policy: 2 days) and the follow-ups after arrival (policy: 30, 90 and 180 days), earliest first, of the returns whose deadlines your purpose sees (the contact point, the destination partner, the receiving organisation, child protection: docs/ACCESS.md). `overdue=true` lists those not met and past due.',
        querystring: DeadlineQuery,
        response: { 200: DeadlineList },
      },
    },
    async (request) => {
      const q = request.query;
      const now = ctx.clock();
      const before = q.cursor ? decodeCursor(q.cursor, DeadlineCursor) : undefined;
      const rows = await listDeadlinesForOrganisation(ctx.db, schema, request.principal.orgId, {
        overdue: q.overdue === undefined ? undefined : q.overdue === 'true',
        open: q.open === undefined ? undefined : q.open === 'true',
        now,
        before,
        limit: q.limit + 1,
        admitted: admittedBy(routePurposes('GET /v1/returns/deadlines'), request.principal.orgType),
      });
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      return {
        items: page.map((d) => ({ ...d, overdue: d.metAt === null && new Date(d.dueAt) < now })),
        nextCursor: rows.length > q.limit && last ? encodeCursor({ dueAt: last.dueAt, returnId: last.returnId, kind: last.kind }) : null,
      };
    },
  );

  r.get(
    '/v1/returns',
    {
      config: { access: routeAccess('GET /v1/returns') },
      schema: {
        tags: TAG,
        summary: 'List the returns of cases your organisation takes part in',
        description: 'Newest first, each return with the fields your purposes in its case see (docs/ACCESS.md). Pass `nextCursor` back as `cursor` for the next page.',
        querystring: ReturnListQuery,
        response: { 200: ReturnList },
      },
    },
    async (request) => {
      const q = request.query;
      const now = ctx.clock();
      const cursor = q.cursor ? decodeCursor(q.cursor, ListCursor) : undefined;
      const rows = await listReturnsForOrganisation(ctx.db, schema, request.principal.orgId, {
        caseId: q.caseId,
        phase: q.phase,
        before: cursor?.before,
        limit: q.limit + 1,
        admitted: admittedBy(routePurposes('GET /v1/returns'), request.principal.orgType),
      });
      const page = rows.slice(0, q.limit);
      const items: Array<Partial<FullReturnView>> = [];
      for (const row of page) {
        const facts = await loadCaseFacts(ctx.db, schema, row.caseId);
        if (!facts) continue;
        const purposes = returnPurposesOf(facts, row.state, request.principal.orgId, request.principal.orgType);
        if (seesReturn(purposes)) items.push(projectReturn(toReturnView(row.returnId, row.version, row.state, facts, now), purposes));
      }
      const last = page.at(-1);
      return { items, nextCursor: rows.length > q.limit && last ? encodeCursor({ before: last.returnId }) : null };
    },
  );

  r.get(
    '/v1/returns/:returnId',
    {
      config: { access: routeAccess('GET /v1/returns/:returnId') },
      schema: {
        tags: TAG,
        summary: 'Read a return (what your part in it needs)',
        description:
          'The steps, what departure still lacks, the next step, deadlines and the timeline, each field only for the purposes the access matrix gives it (docs/ACCESS.md, repatriation): the travel plan for the destination partner, the escort, the receiving organisation and the coordinating contact point; risk factors and child-protection outcomes for the contact point and child protection; for a shelter only that a return is planned and, once the person arrived, when and who hands over. Law enforcement that is not the escort, and other purposes, get 404.',
        params: ReturnIdParams,
        response: { 200: ReturnDetailView },
      },
    },
    async (request, reply) => {
      const now = ctx.clock();
      const { found, facts, purposes } = await visible(ctx.db, request.params.returnId, request);
      const events = await ctx.store.readStream(ctx.db, `return-${found.returnId}`);
      const timeline = events.map((e) => ({ version: e.streamVersion, type: e.type, organisationId: e.metadata.organisation, recordedAt: e.recordedAt }));
      return reply.header('etag', etag(found.version)).send({
        ...projectReturn(toReturnView(found.returnId, found.version, found.state, facts, now), purposes),
        timeline: visibleTimeline(timeline, purposes),
      });
    },
  );

  commandRoute('/acknowledgement', {
    summary: 'Acknowledge a return request (national contact point)',
    description: 'Records `ReturnRequestAcknowledged` with the key contact and the alternate; late after the acknowledgement policy (2 days).',
    body: AcknowledgeReturnBody,
    command: (b) => ({ type: 'AcknowledgeReturnRequest', data: b }),
  });
  commandRoute('/risk-assessments', {
    summary: 'Record a risk assessment',
    description:
      'Records `RiskAssessmentRecorded`, as the origin side (national contact point, child protection) or the destination side (the destination partner). The latest assessment of each side is kept and the origin\'s governs: departure needs it, a newer destination `proceed` never supersedes the origin\'s `do_not_return`, and when the sides disagree the return waits for the origin contact point\'s resolution. `high` risk with `proceed` is refused (422); `proceed_with_measures` names its measures.',
    body: RiskAssessmentBody,
    command: (b) => ({ type: 'RecordRiskAssessment', data: { assessmentId: uuidv7(), ...b } }),
  });
  commandRoute('/risk-resolution', {
    summary: 'Resolve a disagreement between the risk assessments (origin national contact point)',
    description:
      'Records `RiskDisagreementResolved` for the two sides\' latest assessments (one advises against return and the other does not, or the origin does not concur): only the national contact point of the country of origin. 409 `no-risk-disagreement` when they agree. A newer assessment of either side needs a new resolution if the sides still disagree.',
    body: RiskResolutionBody,
    command: (b) => ({ type: 'ResolveRiskDisagreement', data: b }),
  });
  r.post(
    '/v1/returns/:returnId/risk-assessments/:assessmentId/comment',
    {
      config: { access: routeAccess('POST /v1/returns/:returnId/risk-assessments/:assessmentId/comment') },
      schema: {
        tags: TAG,
        summary: 'Comment on a risk assessment (country of origin)',
        description: 'Records `RiskAssessmentCommented`: whether the country of origin concurs, and the factors it adds.',
        params: AssessmentParams,
        body: RiskCommentBody,
        response: { 200: ReturnView },
      },
    },
    async (request, reply) =>
      onReturn(request as unknown as FastifyRequest<{ Params: { returnId: string } }>, reply as unknown as FastifyReply, {
        type: 'CommentRiskAssessment',
        data: { assessmentId: request.params.assessmentId, ...request.body },
      }, 'POST /v1/returns/:returnId/risk-assessments/:assessmentId/comment'),
  );
  commandRoute('/travel-document/request', {
    summary: 'Request a travel document from the consulate taking part',
    description: 'Records `TravelDocumentRequested`. The consulate must take part in the case for travel documents.',
    body: TravelDocumentRequestBody,
    command: (b) => ({ type: 'RequestTravelDocument', data: b }),
  });
  commandRoute('/travel-document/issue', {
    summary: 'Issue a single-trip travel title (consulate)',
    description: 'Records `TravelDocumentIssued` with its validity. Only the consulate the document was requested from.',
    body: IssueTravelDocumentBody,
    command: (b) => ({ type: 'IssueTravelDocument', data: { validFrom: b.validFrom, validUntil: b.validUntil } }),
  });
  commandRoute('/travel-document/refusal', {
    summary: 'Refuse a travel document (consulate)',
    description: 'Records `TravelDocumentRefused` with a reason; the destination partner may request again.',
    body: RefuseTravelDocumentBody,
    command: (b) => ({ type: 'RefuseTravelDocument', data: b }),
  });
  commandRoute('/travel-plan', {
    summary: 'Plan the travel (destination partner)',
    description: 'Records `TravelPlanned` (date, route, transit countries, escort, point of arrival); flags late notification when the date is too soon.',
    body: TravelPlanBody,
    command: (b) => ({ type: 'PlanTravel', data: b }),
    registry: (b) => [[b.escortOrganisationId, '/escortOrganisationId']],
  });
  commandRoute('/reception', {
    summary: 'Arrange reception at the point of arrival (origin side)',
    description:
      'Records `ReceptionArranged`: the receiving organisation (taking part in the case) at the point of arrival. Only the national contact point of the country of origin, or the receiving organisation itself; never the destination side.',
    body: ReceptionBody,
    command: (b) => ({ type: 'ArrangeReception', data: b }),
    registry: (b) => [[b.receivingOrganisationId, '/receivingOrganisationId']],
  });
  commandRoute('/guardian', {
    summary: 'Record that a guardian was appointed (child protection)',
    description: 'Records `GuardianAppointed`.',
    body: GuardianBody,
    command: (b) => ({ type: 'AppointGuardian', data: b }),
  });
  commandRoute('/best-interests-determination', {
    summary: 'Record the best-interests determination (child protection)',
    description: 'Records `BestInterestsDetermined`. A determination against return stops the return (Convention Art. 16(7)): it can then only be cancelled.',
    body: BestInterestsBody,
    command: (b) => ({ type: 'DetermineBestInterests', data: b }),
  });
  commandRoute('/family-assessment', {
    summary: 'Record the family assessment (child protection)',
    description: 'Records `FamilyAssessed`.',
    body: FamilyAssessmentBody,
    command: (b) => ({ type: 'AssessFamily', data: b }),
  });
  commandRoute('/departure', {
    summary: 'Record the departure (gated)',
    description:
      'Records `Departed` only when every condition holds; otherwise 409 `departure-conditions-unmet` whose `unmet` lists every missing condition by stable code (see /problems/departure-conditions-unmet), among them `case-facts-not-current` while repatriation has not yet applied every event referrals holds for the case (retry shortly).',
    body: DepartureBody,
    command: () => ({ type: 'Depart', data: {} }),
    checkFactsCurrent: true,
  });
  commandRoute('/transits', {
    summary: 'Record a transit',
    description: 'Records `TransitRecorded`.',
    body: TransitBody,
    command: (b) => ({ type: 'RecordTransit', data: b }),
  });
  commandRoute('/arrival', {
    summary: 'Record the arrival (receiving side)',
    description: 'Records `Arrived` (received by the caller\'s organisation) and sets the follow-up deadlines.',
    body: ArrivalBody,
    command: (b) => ({ type: 'RecordArrival', data: { pointOfArrival: b.pointOfArrival ?? null } }),
  });
  commandRoute('/handover', {
    summary: 'Hand the person over to assistance',
    description: 'Records `HandedOverToAssistance` with the services needed; referrals turns each into a service referral.',
    body: HandOverBody,
    command: (b) => ({ type: 'HandOverToAssistance', data: b }),
  });
  commandRoute('/follow-ups', {
    summary: 'Record a follow-up after return',
    description: 'Records `FollowUpRecorded` for one of the scheduled follow-ups (policy: 30, 90, 180 days after arrival); late after its deadline.',
    body: FollowUpBody,
    command: (b) => ({ type: 'RecordFollowUp', data: b }),
  });
  commandRoute('/cancellation', {
    summary: 'Cancel the return (before departure)',
    description: 'Records `ReturnCancelled`. Always possible before departure: the victim may change their mind.',
    body: CancelBody,
    command: (b) => ({ type: 'CancelReturn', data: b }),
  });
}
