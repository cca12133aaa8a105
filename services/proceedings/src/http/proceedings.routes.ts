import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Transaction } from 'kysely';
import { z } from 'zod';
import { ProblemError, decodeCursor, encodeCursor, etag, parseIfMatch, runIdempotent, sendIdempotent, eventMetadata } from '@trm/platform';
import type { ProceedingsContext } from '../context.js';
import type { CommandMetadata, ProceedingsCommand, ProceedingsState } from '../domain/proceedings.decider.js';
import { accessStreamOf, executeProceedingsCommand, metadataOf, streamOf, visibleOr404 } from '../handlers/proceedings.handler.js';
import { listDutiesForOrganisation } from '../repositories/duties.repository.js';
import { awaitCurrentCaseFacts, requireCurrentCaseFacts } from './facts-currency.js';
import {
  CaseIdParams,
  ChangeStageBody,
  ClaimBody,
  ClaimParams,
  CommandAnswer,
  ConsentBody,
  CriminalCaseParams,
  DecisionBody,
  DutyList,
  DutyListQuery,
  HearingBody,
  InterpreterBody,
  LegalCounselBody,
  LinkCriminalCaseBody,
  OffenderReleaseBody,
  OutcomeBody,
  PaymentBody,
  ProceedingsView,
  ProtectionMeasureBody,
  ReferenceQuery,
  ReferenceView,
  VictimInformedBody,
  WithdrawBody,
} from './proceedings.schemas.js';

const TAG = ['proceedings'];
/** Law-enforcement officers act as case officers; the victim's side needs proceedings_coordinator. */
const ACTORS = ['proceedings_coordinator', 'case_officer'] as const;
const referenceField = (criminalCaseId: string) => `criminalCaseReference.${criminalCaseId}`;

export function toProceedingsView(caseId: string, state: ProceedingsState, version: number, now: Date): ProceedingsView {
  const at = now.toISOString();
  return {
    caseId,
    version,
    participation: state.participation,
    consentedOn: state.consentedOn,
    withdrawnOn: state.withdrawnOn,
    informationDeclined: state.informationDeclined,
    criminalCases: state.criminalCases,
    duties: state.duties.map((d) => ({ ...d, caseId, overdue: d.status === 'open' && d.dueAt < at })),
    claims: state.claims,
    legalCounsel: state.legalCounsel,
    interpreters: state.interpreters,
  };
}

interface CommandSpec {
  status: 200 | 201;
  build(meta: CommandMetadata): ProceedingsCommand;
  created?: Record<string, string>;
  /** Writes that must happen only once the decider accepted, in the same transaction. */
  after?(tx: Transaction<any>): Promise<void>;
}

/** Idempotent, If-Match aware: access (404), decide (403/409/422), append, project, answer. */
async function runCommand(ctx: ProceedingsContext, request: FastifyRequest, reply: FastifyReply, caseId: string, spec: CommandSpec) {
  const ifMatch = parseIfMatch(request);
  const now = ctx.clock();
  const answer = await runIdempotent({ db: ctx.db, schema: ctx.schema, request }, async (tx) => {
    const access = await visibleOr404(ctx, tx, caseId, request);
    const { state, version } = await executeProceedingsCommand(ctx, tx, caseId, spec.build(metadataOf(request, now, access)), ifMatch, request);
    await spec.after?.(tx);
    return {
      statusCode: spec.status,
      headers: { etag: etag(version), ...(spec.status === 201 ? { location: `/v1/proceedings/${caseId}` } : {}) },
      body: { created: spec.created ?? {}, proceedings: toProceedingsView(caseId, state, version, now) },
    };
  });
  // A stored answer shows the proceedings: never replayed to an organisation that left the case since.
  if (answer.replayed) await visibleOr404(ctx, ctx.db, caseId, request);
  ctx.committed();
  return sendIdempotent(reply, answer);
}

const DutyCursor = z.object({ dueAt: z.string(), dutyId: z.uuid() });

const commandDoc = (summary: string, event: string, extra = '') => ({
  tags: TAG,
  summary,
  description:
    `Records \`${event}\`. Needs the victim’s participation consent (else 409 \`proceedings-conditions-unmet\` with ` +
    `\`participation-consent-missing\`; after withdrawal the victim side’s own acts are refused with \`participation-withdrawn\`, while stages, hearings, ` +
    `outcomes, an offender’s release, payments and informing the victim go on). Send \`Idempotency-Key\` so a retry returns ` +
    `the first answer, and \`If-Match\` with the proceedings ETag to act only on the version you read.${extra ? ` ${extra}` : ''}`,
  response: { 200: CommandAnswer, 201: CommandAnswer },
});

export async function proceedingsRoutes(app: FastifyInstance, ctx: ProceedingsContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/v1/proceedings/duties',
    {
      config: { access: { roles: ['proceedings_coordinator'] } },
      schema: {
        tags: TAG,
        summary: 'Duties to inform victims (for the proceedings coordinator)',
        description:
          'Every stage change, hearing and outcome must be followed by `VictimInformed` within the policy (PROCEEDINGS_INFORM_DAYS, 5 days). ' +
          'Lists the duties of the cases where your organisation is on the victim’s side, soonest due first; `status=overdue` shows only those past due.',
        querystring: DutyListQuery,
        response: { 200: DutyList },
      },
    },
    async (request) => {
      const q = request.query;
      const now = ctx.clock();
      const after = q.cursor ? decodeCursor(q.cursor, DutyCursor) : undefined;
      const rows = await listDutiesForOrganisation(ctx.db, ctx.schema, request.principal.orgId, {
        status: q.status,
        caseId: q.caseId,
        after,
        limit: q.limit + 1,
        now,
      });
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      const at = now.toISOString();
      return {
        items: page.map((d) => ({ ...d, overdue: d.status === 'open' && d.dueAt < at })),
        nextCursor: rows.length > q.limit && last ? encodeCursor({ dueAt: last.dueAt, dutyId: last.dutyId }) : null,
      };
    },
  );

  r.get(
    '/v1/proceedings/:caseId',
    {
      config: { access: { roles: [...ACTORS] } },
      schema: {
        tags: TAG,
        summary: 'Read the proceedings of a case',
        description:
          'For the national contact point, the organisation supporting the victim and the law-enforcement participant; 404 for everyone else. ' +
          'Readable after withdrawal (the history stays). `participation: none` until consent is recorded. Criminal case references are not included.',
        params: CaseIdParams,
        response: { 200: ProceedingsView },
      },
    },
    async (request, reply) => {
      const { caseId } = request.params;
      await visibleOr404(ctx, ctx.db, caseId, request);
      const { state, version } = await ctx.store.aggregateStream(ctx.db, streamOf(caseId), ctx.decider);
      return reply.header('etag', etag(version)).send(toProceedingsView(caseId, state, version, ctx.clock()));
    },
  );

  r.post(
    '/v1/proceedings/:caseId/participation',
    {
      config: { access: { roles: ['proceedings_coordinator'] } },
      schema: {
        ...commandDoc(
          'Record the victim’s consent to take part in proceedings',
          'ParticipationConsented',
          'By the national contact point or the organisation supporting the victim. A notification never implies it. It can be given again after a withdrawal (not dated before it).',
        ),
        params: CaseIdParams,
        body: ConsentBody,
      },
    },
    async (request, reply) => {
      const { caseId } = request.params;
      return runCommand(ctx, request, reply, caseId, {
        status: 201,
        build: (metadata) => ({ type: 'ConsentParticipation', data: { caseId, consentedOn: request.body.consentedOn }, metadata }),
      });
    },
  );

  r.post(
    '/v1/proceedings/:caseId/participation/withdrawal',
    {
      config: { access: { roles: ['proceedings_coordinator'] } },
      schema: {
        ...commandDoc(
          'Record that the victim withdrew from the proceedings',
          'ParticipationWithdrawn',
          'The victim side’s further commands are refused; the victim is still informed of stages, hearings, outcomes and an offender’s release or escape, unless they asked not to be (`informationDeclined: true`: open duties lapse and no new one arises). The history stays readable.',
        ),
        params: CaseIdParams,
        body: WithdrawBody,
      },
    },
    async (request, reply) => {
      const { caseId } = request.params;
      return runCommand(ctx, request, reply, caseId, {
        status: 200,
        build: (metadata) => ({
          type: 'WithdrawParticipation',
          data: { caseId, withdrawnOn: request.body.withdrawnOn, informationDeclined: request.body.informationDeclined },
          metadata,
        }),
      });
    },
  );

  r.post(
    '/v1/proceedings/:caseId/criminal-cases',
    {
      config: { access: { roles: [...ACTORS] } },
      schema: {
        ...commandDoc('Link a criminal case (any country)', 'CriminalCaseLinked', 'The authority’s reference is encrypted in the vault; events carry only `criminalCaseId`.'),
        params: CaseIdParams,
        body: LinkCriminalCaseBody,
      },
    },
    async (request, reply) => {
      const { caseId } = request.params;
      const b = request.body;
      const criminalCaseId = randomUUID();
      return runCommand(ctx, request, reply, caseId, {
        status: 201,
        created: { criminalCaseId },
        build: (metadata) => ({
          type: 'LinkCriminalCase',
          data: { caseId, criminalCaseId, country: b.country, authorityType: b.authorityType, offence: b.offence, stage: b.stage, referenceKept: b.reference !== undefined },
          metadata,
        }),
        after: async (tx) => {
          if (b.reference !== undefined) await ctx.vault.put(tx, caseId, { [referenceField(criminalCaseId)]: b.reference });
        },
      });
    },
  );

  r.get(
    '/v1/proceedings/:caseId/criminal-cases/:criminalCaseId/reference',
    {
      config: { access: { roles: [...ACTORS] } },
      schema: {
        tags: TAG,
        summary: 'Read a criminal case’s reference (recorded)',
        description:
          'Decrypts the authority’s reference. Every read is recorded as `CriminalCaseReferenceRead` (who, which case, why) before it is returned. ' +
          'Who may read it is learnt from referrals’ events: while proceedings has not yet applied every change referrals committed to the case (a removal, an erasure), the read is refused with 503 `case-facts-behind` and `Retry-After` (it waits up to 2 s first).',
        params: CriminalCaseParams,
        querystring: ReferenceQuery,
        response: { 200: ReferenceView },
      },
    },
    async (request, reply) => {
      const { caseId, criminalCaseId } = request.params;
      // Served on facts learnt from referrals: only once they are current (facts-currency.ts).
      await awaitCurrentCaseFacts(ctx, caseId);
      const result = await ctx.db.transaction().execute(async (tx) => {
        await visibleOr404(ctx, tx, caseId, request);
        await requireCurrentCaseFacts(ctx, tx, caseId, reply);
        const { state } = await ctx.store.aggregateStream(tx, streamOf(caseId), ctx.decider);
        if (!state.criminalCases.some((c) => c.criminalCaseId === criminalCaseId)) {
          throw new ProblemError(404, 'not-found', 'No such criminal case in these proceedings.');
        }
        const field = referenceField(criminalCaseId);
        const read = await ctx.vault.get(tx, caseId, [field]);
        await ctx.store.append(
          tx,
          accessStreamOf(caseId),
          [{ type: 'CriminalCaseReferenceRead', data: { caseId, criminalCaseId, organisationId: request.principal.orgId, purpose: request.query.purpose } }],
          { expectedVersion: 'any', metadata: eventMetadata(request), now: ctx.clock() },
        );
        return { read, field };
      });
      ctx.committed();
      const { read, field } = result;
      if (read.status === 'erased') return { caseId, criminalCaseId, status: 'erased' as const };
      const value = read.status === 'present' ? read.data[field] : undefined;
      return typeof value === 'string'
        ? { caseId, criminalCaseId, status: 'present' as const, reference: value }
        : { caseId, criminalCaseId, status: 'absent' as const };
    },
  );

  r.post(
    '/v1/proceedings/:caseId/criminal-cases/:criminalCaseId/stage',
    {
      config: { access: { roles: [...ACTORS] } },
      schema: {
        ...commandDoc(
          'Record a stage change (law enforcement; the coordinator for a trial abroad)',
          'StageChanged',
          'Stages only move forward (investigation, prosecution, trial, appeal, final). The proceedings coordinator may record the stages of a criminal case in another country than its own, naming the `source` (`lawyer` or `foreign_authority`). Opens a duty to inform the victim, due within the policy days of `changedOn`.',
        ),
        params: CriminalCaseParams,
        body: ChangeStageBody,
      },
    },
    async (request, reply) => {
      const { caseId, criminalCaseId } = request.params;
      const dutyId = randomUUID();
      return runCommand(ctx, request, reply, caseId, {
        status: 200,
        created: { dutyId },
        build: (metadata) => ({
          type: 'ChangeStage',
          data: { criminalCaseId, stage: request.body.stage, changedOn: request.body.changedOn, dutyId, ...(request.body.source ? { source: request.body.source } : {}) },
          metadata,
        }),
      });
    },
  );

  r.post(
    '/v1/proceedings/:caseId/criminal-cases/:criminalCaseId/hearings',
    {
      config: { access: { roles: [...ACTORS] } },
      schema: {
        ...commandDoc('Schedule a hearing (law enforcement)', 'HearingScheduled', 'Opens a duty to inform the victim, due within the policy days of `scheduledOn` and no later than the day before the hearing.'),
        params: CriminalCaseParams,
        body: HearingBody,
      },
    },
    async (request, reply) => {
      const { caseId, criminalCaseId } = request.params;
      const hearingId = randomUUID();
      const dutyId = randomUUID();
      return runCommand(ctx, request, reply, caseId, {
        status: 201,
        created: { hearingId, dutyId },
        build: (metadata) => ({ type: 'ScheduleHearing', data: { criminalCaseId, hearingId, dutyId, ...request.body }, metadata }),
      });
    },
  );

  r.post(
    '/v1/proceedings/:caseId/criminal-cases/:criminalCaseId/outcomes',
    {
      config: { access: { roles: [...ACTORS] } },
      schema: {
        ...commandDoc(
          'Record an outcome (law enforcement)',
          'OutcomeRecorded',
          'Conviction (custodial or suspended, length in months) or acquittal at trial or appeal; dismissal or statute-of-limitations expiry at any stage (they close the criminal case). Opens a duty to inform the victim.',
        ),
        params: CriminalCaseParams,
        body: OutcomeBody,
      },
    },
    async (request, reply) => {
      const { caseId, criminalCaseId } = request.params;
      const outcomeId = randomUUID();
      const dutyId = randomUUID();
      return runCommand(ctx, request, reply, caseId, {
        status: 201,
        created: { outcomeId, dutyId },
        build: (metadata) => ({ type: 'RecordOutcome', data: { criminalCaseId, outcomeId, dutyId, outcome: request.body.outcome, decidedOn: request.body.decidedOn }, metadata }),
      });
    },
  );

  r.post(
    '/v1/proceedings/:caseId/criminal-cases/:criminalCaseId/offender-releases',
    {
      config: { access: { roles: [...ACTORS] } },
      schema: {
        ...commandDoc(
          'Record an offender’s release or escape',
          'OffenderReleased',
          'Opens a duty to inform the victim (Directive 2012/29/EU Art. 6(5)), due within the policy days of `releasedOn`, also after the victim withdrew from the proceedings.',
        ),
        params: CriminalCaseParams,
        body: OffenderReleaseBody,
      },
    },
    async (request, reply) => {
      const { caseId, criminalCaseId } = request.params;
      const dutyId = randomUUID();
      return runCommand(ctx, request, reply, caseId, {
        status: 201,
        created: { dutyId },
        build: (metadata) => ({ type: 'RecordOffenderRelease', data: { criminalCaseId, dutyId, ...request.body }, metadata }),
      });
    },
  );

  r.post(
    '/v1/proceedings/:caseId/criminal-cases/:criminalCaseId/protection-measures',
    {
      config: { access: { roles: [...ACTORS] } },
      schema: { ...commandDoc('Record a protection measure granted', 'ProtectionMeasureGranted'), params: CriminalCaseParams, body: ProtectionMeasureBody },
    },
    async (request, reply) => {
      const { caseId, criminalCaseId } = request.params;
      return runCommand(ctx, request, reply, caseId, {
        status: 201,
        build: (metadata) => ({ type: 'GrantProtectionMeasure', data: { criminalCaseId, ...request.body }, metadata }),
      });
    },
  );

  r.post(
    '/v1/proceedings/:caseId/criminal-cases/:criminalCaseId/compensation-claims',
    {
      config: { access: { roles: ['proceedings_coordinator'] } },
      schema: { ...commandDoc('Record a compensation claim', 'CompensationClaimed', 'Amounts are decimal strings with an ISO 4217 currency.'), params: CriminalCaseParams, body: ClaimBody },
    },
    async (request, reply) => {
      const { caseId, criminalCaseId } = request.params;
      const claimId = randomUUID();
      return runCommand(ctx, request, reply, caseId, {
        status: 201,
        created: { claimId },
        build: (metadata) => ({ type: 'ClaimCompensation', data: { criminalCaseId, claimId, ...request.body }, metadata }),
      });
    },
  );

  r.post(
    '/v1/proceedings/:caseId/compensation-claims/:claimId/decision',
    {
      config: { access: { roles: [...ACTORS] } },
      schema: {
        ...commandDoc('Record the decision on a compensation claim', 'CompensationDecided', 'The award is in the claim’s currency; a rejection awards 0.'),
        params: ClaimParams,
        body: DecisionBody,
      },
    },
    async (request, reply) => {
      const { caseId, claimId } = request.params;
      return runCommand(ctx, request, reply, caseId, {
        status: 200,
        build: (metadata) => ({ type: 'DecideCompensation', data: { claimId, ...request.body }, metadata }),
      });
    },
  );

  r.post(
    '/v1/proceedings/:caseId/compensation-claims/:claimId/payments',
    {
      config: { access: { roles: [...ACTORS] } },
      schema: {
        ...commandDoc('Record compensation paid', 'CompensationPaid', 'After an award (`CompensationDecided` awarded), in its currency; all payments together never exceed it.'),
        params: ClaimParams,
        body: PaymentBody,
      },
    },
    async (request, reply) => {
      const { caseId, claimId } = request.params;
      return runCommand(ctx, request, reply, caseId, {
        status: 201,
        build: (metadata) => ({ type: 'RecordCompensationPaid', data: { claimId, ...request.body }, metadata }),
      });
    },
  );

  r.post(
    '/v1/proceedings/:caseId/legal-counsel',
    {
      config: { access: { roles: ['proceedings_coordinator'] } },
      schema: { ...commandDoc('Record legal counsel assigned to the victim', 'LegalCounselAssigned'), params: CaseIdParams, body: LegalCounselBody },
    },
    async (request, reply) => {
      const { caseId } = request.params;
      const b = request.body;
      // Registry read before the transaction: on PGlite the transaction holds the one connection.
      if (b.counselOrganisationId !== undefined && !(await ctx.orgs.get(b.counselOrganisationId))) {
        throw new ProblemError(422, 'unknown-organisation-reference', 'The counsel organisation is not a registered organisation.', {
          errors: [{ pointer: '/counselOrganisationId', in: 'body', code: 'unknown_organisation', message: 'not a registered organisation' }],
        });
      }
      return runCommand(ctx, request, reply, caseId, {
        status: 201,
        build: (metadata) => ({
          type: 'AssignLegalCounsel',
          data: { criminalCaseId: b.criminalCaseId ?? null, counselOrganisationId: b.counselOrganisationId ?? null, freeOfCharge: b.freeOfCharge, assignedOn: b.assignedOn },
          metadata,
        }),
      });
    },
  );

  r.post(
    '/v1/proceedings/:caseId/interpreters',
    {
      config: { access: { roles: [...ACTORS] } },
      schema: { ...commandDoc('Record an interpreter assigned', 'InterpreterAssigned'), params: CaseIdParams, body: InterpreterBody },
    },
    async (request, reply) => {
      const { caseId } = request.params;
      const b = request.body;
      return runCommand(ctx, request, reply, caseId, {
        status: 201,
        build: (metadata) => ({ type: 'AssignInterpreter', data: { criminalCaseId: b.criminalCaseId ?? null, language: b.language, assignedOn: b.assignedOn }, metadata }),
      });
    },
  );

  r.post(
    '/v1/proceedings/:caseId/victim-informed',
    {
      config: { access: { roles: [...ACTORS] } },
      schema: {
        ...commandDoc('Record that the victim was informed', 'VictimInformed', 'Names the duties it fulfils; those past their deadline are recorded as late.'),
        params: CaseIdParams,
        body: VictimInformedBody,
      },
    },
    async (request, reply) => {
      const { caseId } = request.params;
      return runCommand(ctx, request, reply, caseId, {
        status: 201,
        build: (metadata) => ({ type: 'RecordVictimInformed', data: { dutyIds: request.body.dutyIds, channel: request.body.channel }, metadata }),
      });
    },
  );
}
