import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Role } from '@trm/contracts';
import type { DbOrTx } from '@trm/event-store';
import { ProblemError, decodeCursor, encodeCursor, etag, notFound, parseIfMatch, runIdempotent, sendIdempotent } from '@trm/platform';
import { isCaseParticipant } from '../domain/case-facts.js';
import { type ReturnCommand, type ReturnState, departureUnmet, gateDate, isStopped, nextStep } from '../domain/return.decider.js';
import { executeReturnCommand, metadataOf } from '../handlers/return.handler.js';
import { deadlinesOf } from '../projections/return.projection.js';
import { loadCaseFacts } from '../repositories/case-facts.repository.js';
import {
  activeReturnOfCase,
  boardSummary,
  findReturnForOrganisation,
  listDeadlinesForOrganisation,
  listReturnsForOrganisation,
} from '../repositories/return.repository.js';
import type { CaseFacts } from '../domain/case-facts.js';
import type { RepatriationContext } from '../context.js';
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
  type ReturnView,
  RiskAssessmentBody,
  RiskCommentBody,
  TransitBody,
  TravelDocumentRequestBody,
  TravelPlanBody,
} from './return.schemas.js';

const TAG = ['returns'];
const READERS: Role[] = ['case_officer', 'notifier', 'consular_officer', 'service_provider', 'child_protection_officer', 'proceedings_coordinator'];

export function toReturnView(returnId: string, version: number, s: ReturnState, facts: CaseFacts, now: Date): ReturnView {
  const deadlines = deadlinesOf(s)
    .filter(() => s.phase !== 'cancelled')
    .map((d) => ({ ...d, overdue: d.metAt === null && new Date(d.dueAt) < now }));
  return {
    returnId,
    caseId: s.caseId!,
    version,
    phase: s.phase as ReturnView['phase'],
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
    acknowledgementDueAt: s.acknowledgementDueAt!,
    acknowledgementOverdue: s.phase !== 'cancelled' && s.acknowledgement === null && new Date(s.acknowledgementDueAt!) < now,
    acknowledgement: s.acknowledgement,
    riskAssessments: s.riskAssessments,
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

export async function returnRoutes(app: FastifyInstance, ctx: RepatriationContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { schema } = ctx;

  /** The return and its case facts if the caller's organisation takes part; a 404 otherwise. */
  async function visible(tx: DbOrTx, returnId: string, request: FastifyRequest) {
    const found = await findReturnForOrganisation(tx, schema, returnId, request.principal.orgId);
    if (!found) throw notFound('return');
    const facts = await loadCaseFacts(tx, schema, found.caseId);
    if (!facts || !isCaseParticipant(facts, request.principal.orgId)) throw notFound('return');
    return { found, facts };
  }

  /** Registry lookups happen before the transaction: on PGlite there is one connection, and the transaction holds it. */
  async function requireRegistered(orgId: string | null | undefined, pointer: string): Promise<void> {
    if (!orgId) return;
    if (await ctx.orgs.get(orgId)) return;
    throw new ProblemError(422, 'unknown-organisation-reference', 'The request names an organisation that is not in the registry.', {
      errors: [{ pointer, in: 'body', code: 'unknown_organisation', message: 'not a registered organisation' }],
    });
  }

  /** One command on an existing return: idempotent, If-Match aware, answered with the return as it now is. */
  async function onReturn(request: FastifyRequest<{ Params: { returnId: string } }>, reply: FastifyReply, command: CommandBody): Promise<FastifyReply> {
    const { returnId } = request.params;
    const ifMatch = parseIfMatch(request);
    const now = ctx.clock();
    const answer = await runIdempotent({ db: ctx.db, schema, request }, async (tx) => {
      const { facts } = await visible(tx, returnId, request);
      const { state, version } = await executeReturnCommand(
        ctx,
        tx,
        returnId,
        { ...command, metadata: metadataOf(request, now, facts) } as ReturnCommand,
        ifMatch,
        request,
      );
      return { statusCode: 200, headers: { etag: etag(version) }, body: toReturnView(returnId, version, state, facts, now) };
    });
    // A stored answer shows the return: never replayed to an organisation that left the case since.
    if (answer.replayed) await visible(ctx.db, returnId, request);
    ctx.committed();
    return sendIdempotent(reply, answer);
  }

  const commandRoute = <B extends z.ZodType>(
    path: string,
    opts: { summary: string; description: string; roles: Role[]; body: B; command: (body: z.output<B>) => CommandBody; registry?: (body: z.output<B>) => Array<[string | null | undefined, string]> },
  ) => {
    r.post(
      `/v1/returns/:returnId${path}`,
      {
        config: { access: { roles: opts.roles } },
        schema: {
          tags: TAG,
          summary: opts.summary,
          description: `${opts.description} Send \`If-Match\` with the return's ETag to act only on the version you read, and \`Idempotency-Key\` so a retry returns the first answer.`,
          params: ReturnIdParams,
          body: opts.body,
          response: { 200: ReturnDetailView.omit({ timeline: true }) },
        },
      },
      async (request, reply) => {
        const body = request.body as z.output<B>;
        for (const [orgId, pointer] of opts.registry?.(body) ?? []) await requireRegistered(orgId, pointer);
        return onReturn(request as FastifyRequest<{ Params: { returnId: string } }>, reply as unknown as FastifyReply, opts.command(body));
      },
    );
  };

  r.post(
    '/v1/returns',
    {
      config: { access: { roles: ['notifier', 'case_officer'] } },
      schema: {
        tags: TAG,
        summary: 'Request an assisted voluntary return',
        description:
          'Records `ReturnRequested` (and `LateNotificationFlagged` when the planned departure is sooner than the notice policy, 10 days by default, after the request reaches the national contact point). Needs the victim\'s consent to return; one active return per case. By the destination partner: the notifier of the case or an organisation taking part for the return (IOM).',
        body: RequestReturnBody,
        response: { 201: ReturnDetailView.omit({ timeline: true }) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const now = ctx.clock();
      const answer = await runIdempotent({ db: ctx.db, schema, request }, async (tx) => {
        const facts = await loadCaseFacts(tx, schema, body.caseId);
        if (!facts || !isCaseParticipant(facts, request.principal.orgId)) throw notFound('case');
        if (await activeReturnOfCase(tx, schema, body.caseId)) {
          throw new ProblemError(409, 'return-already-active', 'The case already has a return under way.');
        }
        const returnId = uuidv7();
        const { state, version } = await executeReturnCommand(
          ctx,
          tx,
          returnId,
          {
            type: 'RequestReturn',
            data: {
              returnId,
              plannedDepartureDate: body.plannedDepartureDate,
              needs: body.needs,
              escortRequired: body.escortRequired,
              travelDocumentNeeded: body.travelDocumentNeeded,
            },
            metadata: metadataOf(request, now, facts),
          },
          undefined,
          request,
        );
        return {
          statusCode: 201,
          headers: { location: `/v1/returns/${returnId}`, etag: etag(version) },
          body: toReturnView(returnId, version, state, facts, now),
        };
      });
      if (answer.replayed) {
        const facts = await loadCaseFacts(ctx.db, schema, body.caseId);
        if (!facts || !isCaseParticipant(facts, request.principal.orgId)) throw notFound('case');
      }
      ctx.committed();
      return sendIdempotent(reply as unknown as FastifyReply, answer);
    },
  );

  r.get(
    '/v1/returns/board',
    {
      config: { access: { roles: ['case_officer'] } },
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
      if (request.principal.orgType !== 'national_contact_point') throw new ProblemError(403, 'not-a-contact-point', 'The board is for national contact points.');
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
      config: { access: { roles: READERS } },
      schema: {
        tags: TAG,
        summary: 'Deadlines of the returns your organisation takes part in',
        description:
          'The acknowledgement of each return request (policy: 2 days) and the follow-ups after arrival (policy: 30, 90 and 180 days), earliest first. `overdue=true` lists those not met and past due.',
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
      config: { access: { roles: READERS } },
      schema: {
        tags: TAG,
        summary: 'List the returns of cases your organisation takes part in',
        description: 'Newest first. Pass `nextCursor` back as `cursor` for the next page.',
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
      });
      const page = rows.slice(0, q.limit);
      const items: ReturnView[] = [];
      for (const row of page) {
        const facts = await loadCaseFacts(ctx.db, schema, row.caseId);
        if (facts) items.push(toReturnView(row.returnId, row.version, row.state, facts, now));
      }
      const last = page.at(-1);
      return { items, nextCursor: rows.length > q.limit && last ? encodeCursor({ before: last.returnId }) : null };
    },
  );

  r.get(
    '/v1/returns/:returnId',
    {
      config: { access: { roles: READERS } },
      schema: {
        tags: TAG,
        summary: 'Read a return in full',
        description: 'For the organisations taking part in the case: every step, what departure still lacks, the next step, deadlines and the timeline of events.',
        params: ReturnIdParams,
        response: { 200: ReturnDetailView },
      },
    },
    async (request, reply) => {
      const now = ctx.clock();
      const { found, facts } = await visible(ctx.db, request.params.returnId, request);
      const events = await ctx.store.readStream(ctx.db, `return-${found.returnId}`);
      return reply.header('etag', etag(found.version)).send({
        ...toReturnView(found.returnId, found.version, found.state, facts, now),
        timeline: events.map((e) => ({ version: e.streamVersion, type: e.type, organisationId: e.metadata.organisation, recordedAt: e.recordedAt })),
      });
    },
  );

  commandRoute('/acknowledgement', {
    summary: 'Acknowledge a return request (national contact point)',
    description: 'Records `ReturnRequestAcknowledged` with the key contact and the alternate; late after the acknowledgement policy (2 days).',
    roles: ['case_officer'],
    body: AcknowledgeReturnBody,
    command: (b) => ({ type: 'AcknowledgeReturnRequest', data: b }),
  });
  commandRoute('/risk-assessments', {
    summary: 'Record a risk assessment',
    description: 'Records `RiskAssessmentRecorded`. The latest assessment counts for departure; `do_not_return` blocks it.',
    roles: ['case_officer', 'notifier', 'child_protection_officer'],
    body: RiskAssessmentBody,
    command: (b) => ({ type: 'RecordRiskAssessment', data: { assessmentId: uuidv7(), ...b } }),
  });
  r.post(
    '/v1/returns/:returnId/risk-assessments/:assessmentId/comment',
    {
      config: { access: { roles: ['case_officer', 'child_protection_officer'] } },
      schema: {
        tags: TAG,
        summary: 'Comment on a risk assessment (country of origin)',
        description: 'Records `RiskAssessmentCommented`: whether the country of origin concurs, and the factors it adds.',
        params: AssessmentParams,
        body: RiskCommentBody,
        response: { 200: ReturnDetailView.omit({ timeline: true }) },
      },
    },
    async (request, reply) =>
      onReturn(request as unknown as FastifyRequest<{ Params: { returnId: string } }>, reply as unknown as FastifyReply, {
        type: 'CommentRiskAssessment',
        data: { assessmentId: request.params.assessmentId, ...request.body },
      }),
  );
  commandRoute('/travel-document/request', {
    summary: 'Request a travel document from the consulate taking part',
    description: 'Records `TravelDocumentRequested`. The consulate must take part in the case for travel documents.',
    roles: ['notifier', 'case_officer', 'consular_officer'],
    body: TravelDocumentRequestBody,
    command: (b) => ({ type: 'RequestTravelDocument', data: b }),
  });
  commandRoute('/travel-document/issue', {
    summary: 'Issue a single-trip travel title (consulate)',
    description: 'Records `TravelDocumentIssued` with its validity. Only the consulate the document was requested from.',
    roles: ['consular_officer'],
    body: IssueTravelDocumentBody,
    command: (b) => ({ type: 'IssueTravelDocument', data: { validFrom: b.validFrom, validUntil: b.validUntil } }),
  });
  commandRoute('/travel-document/refusal', {
    summary: 'Refuse a travel document (consulate)',
    description: 'Records `TravelDocumentRefused` with a reason; the destination partner may request again.',
    roles: ['consular_officer'],
    body: RefuseTravelDocumentBody,
    command: (b) => ({ type: 'RefuseTravelDocument', data: b }),
  });
  commandRoute('/travel-plan', {
    summary: 'Plan the travel (destination partner)',
    description: 'Records `TravelPlanned` (date, route, transit countries, escort, point of arrival); flags late notification when the date is too soon.',
    roles: ['notifier', 'case_officer'],
    body: TravelPlanBody,
    command: (b) => ({ type: 'PlanTravel', data: b }),
    registry: (b) => [[b.escortOrganisationId, '/escortOrganisationId']],
  });
  commandRoute('/reception', {
    summary: 'Arrange reception at the point of arrival',
    description: 'Records `ReceptionArranged`: the receiving organisation (taking part in the case) at the point of arrival.',
    roles: ['case_officer', 'child_protection_officer'],
    body: ReceptionBody,
    command: (b) => ({ type: 'ArrangeReception', data: b }),
    registry: (b) => [[b.receivingOrganisationId, '/receivingOrganisationId']],
  });
  commandRoute('/guardian', {
    summary: 'Record that a guardian was appointed (child protection)',
    description: 'Records `GuardianAppointed`.',
    roles: ['child_protection_officer'],
    body: GuardianBody,
    command: (b) => ({ type: 'AppointGuardian', data: b }),
  });
  commandRoute('/best-interests-determination', {
    summary: 'Record the best-interests determination (child protection)',
    description: 'Records `BestInterestsDetermined`. A determination against return stops the return (Convention Art. 16(7)): it can then only be cancelled.',
    roles: ['child_protection_officer'],
    body: BestInterestsBody,
    command: (b) => ({ type: 'DetermineBestInterests', data: b }),
  });
  commandRoute('/family-assessment', {
    summary: 'Record the family assessment (child protection)',
    description: 'Records `FamilyAssessed`.',
    roles: ['child_protection_officer'],
    body: FamilyAssessmentBody,
    command: (b) => ({ type: 'AssessFamily', data: b }),
  });
  commandRoute('/departure', {
    summary: 'Record the departure (gated)',
    description:
      'Records `Departed` only when every condition holds; otherwise 409 `departure-conditions-unmet` whose `unmet` lists every missing condition by stable code (see /problems/departure-conditions-unmet).',
    roles: ['notifier', 'case_officer'],
    body: DepartureBody,
    command: () => ({ type: 'Depart', data: {} }),
  });
  commandRoute('/transits', {
    summary: 'Record a transit',
    description: 'Records `TransitRecorded`.',
    roles: ['notifier', 'case_officer'],
    body: TransitBody,
    command: (b) => ({ type: 'RecordTransit', data: b }),
  });
  commandRoute('/arrival', {
    summary: 'Record the arrival (receiving side)',
    description: 'Records `Arrived` (received by the caller\'s organisation) and sets the follow-up deadlines.',
    roles: ['case_officer', 'child_protection_officer'],
    body: ArrivalBody,
    command: (b) => ({ type: 'RecordArrival', data: { pointOfArrival: b.pointOfArrival ?? null } }),
  });
  commandRoute('/handover', {
    summary: 'Hand the person over to assistance',
    description: 'Records `HandedOverToAssistance` with the services needed; referrals turns each into a service referral.',
    roles: ['case_officer', 'child_protection_officer'],
    body: HandOverBody,
    command: (b) => ({ type: 'HandOverToAssistance', data: b }),
  });
  commandRoute('/follow-ups', {
    summary: 'Record a follow-up after return',
    description: 'Records `FollowUpRecorded` for one of the scheduled follow-ups (policy: 30, 90, 180 days after arrival); late after its deadline.',
    roles: ['case_officer', 'child_protection_officer'],
    body: FollowUpBody,
    command: (b) => ({ type: 'RecordFollowUp', data: b }),
  });
  commandRoute('/cancellation', {
    summary: 'Cancel the return (before departure)',
    description: 'Records `ReturnCancelled`. Always possible before departure: the victim may change their mind.',
    roles: ['notifier', 'case_officer', 'child_protection_officer'],
    body: CancelBody,
    command: (b) => ({ type: 'CancelReturn', data: b }),
  });
}
