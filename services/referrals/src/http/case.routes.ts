import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { ProblemError, decodeCursor, encodeCursor, etag, notFound, parseIfMatch, runIdempotent, sendIdempotent } from '@trm/platform';
import type { CaseRecord } from '../repositories/case.repository.js';
import { findCaseForOrganisation, listCasesForOrganisation } from '../repositories/case.repository.js';
import type { ReferralsContext } from '../context.js';
import { AcknowledgeBody, CaseIdParams, CaseList, CaseListQuery, NotifyCaseBody, PersonalDataQuery, PersonalDataView } from './case.schemas.js';
import { CaseView } from './case-views.schemas.js';
import { toCaseSummary, toCaseView } from './case-views.js';
import { personalDataAccess } from './personal-data-access.js';
import { legalBasesOf } from '../domain/personal-data.rules.js';
import { addresseeUnmet } from '../domain/routing.js';
import { projectedCaseRecord } from '../projections/case.projection.js';
import { executeCaseCommand, loadCase, metadataOf, recordPersonalDataAccess } from '../handlers/case.handler.js';

const TAG = ['cases'];

const CursorSchema = z.object({ before: z.uuid() });

export async function caseRoutes(app: FastifyInstance, ctx: ReferralsContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { schema } = ctx;

  r.post(
    '/v1/cases',
    {
      config: { access: { roles: ['notifier'] } },
      schema: {
        tags: TAG,
        summary: 'Notify a case',
        description:
          'Records `CaseNotified` (schema version 2). Personal data under `person` is encrypted into the vault; the event carries only non-identifying attributes. ' +
          'Age and birth year may both be left out: an unknown or uncertain age (no age, `ageApproximate`, a birth year whose lower bound of age is under 18) makes the person a presumed child (`minor: true`, `minorBasis: presumed`) until child protection records an age assessment; for every child, `ChildProtectionRequested` and the child protection authority routed by country and county (policy TRM_CHILD_PROTECTION_ROUTES) join the case at once, with a deadline (policy 24 h) on the deadline board until it acknowledges. ' +
          'The case is addressed to one central national contact point, which coordinates it (`addressedTo`, or the default described there); no other contact point is added: a further one (the victim’s own country’s, for a foreign victim) joins only with the victim’s consent to share with it (`POST …/participants`, purpose `national_contact_point`), never while international protection is sought nor one of a country the victim fears. ' +
          '422 `invalid-addressee` (nothing written) when the addressee may not coordinate. Send `Idempotency-Key` so a retry returns the first answer.',
        body: NotifyCaseBody,
        response: { 201: CaseView },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const principal = request.principal;
      const now = ctx.clock();
      // Registry reads happen before the transaction: on PGlite there is one connection, and the
      // transaction holds it.
      const citizenships = Array.isArray(body.citizenship) ? body.citizenship : [body.citizenship];
      const routing = {
        situation: body.situation,
        citizenship: citizenships[0]!,
        citizenships,
        countryOfIdentification: body.countryOfIdentification,
        internationalProtectionSought: body.internationalProtectionSought,
        fearsAuthoritiesOf: body.fearsAuthoritiesOf,
      };
      const addressee = await ctx.addresseeFor(routing, body.addressedTo);
      const pointer = { pointer: '/addressedTo', in: 'body' as const };
      if (!addressee) {
        throw new ProblemError(422, 'unknown-organisation-reference', 'The request names an organisation that is not registered.', {
          errors: [{ ...pointer, code: 'unknown_organisation', message: 'not a registered organisation' }],
        });
      }
      // The decider refuses the same (it decides); checked here too so the problem points at the field.
      const refused = addresseeUnmet(routing, addressee);
      if (refused.length > 0) {
        throw new ProblemError(
          422,
          'invalid-addressee',
          body.addressedTo === undefined
            ? 'No contact point may coordinate this case by default: name one in addressedTo.'
            : 'The contact point named may not coordinate this case.',
          { unmet: refused, errors: refused.map((code) => ({ ...pointer, code: code.replaceAll('-', '_'), message: code.replaceAll('-', ' ') })) },
        );
      }
      // Child protection for a child: routed by the coordinating contact point's country and the county.
      const childProtection = (await ctx.childProtectionFor(addressee.country, body.county)) ?? null;
      const answer = await runIdempotent({ db: ctx.db, schema, request }, async (tx) => {
        const caseId = uuidv7();
        const person = body.person ?? {};
        const personalDataFields = Object.keys(person).sort();
        const birthYear = body.birthYear ?? (person.birthDate ? Number(person.birthDate.slice(0, 4)) : null);
        const result = await executeCaseCommand(ctx, tx, caseId, {
          type: 'NotifyCase',
          data: {
            caseId,
            situation: body.situation,
            countryOfIdentification: body.countryOfIdentification,
            countryOfExploitation: body.countryOfExploitation,
            identificationDate: body.identificationDate,
            formsOfExploitation: body.formsOfExploitation,
            sex: body.sex,
            ageAtIdentification: body.age ?? null,
            ...(body.ageApproximate ? { ageApproximate: true } : {}),
            birthYear,
            citizenship: citizenships[0]!,
            ...(citizenships.length > 1 ? { citizenships } : {}),
            ...(body.county ? { county: body.county } : {}),
            childProtection,
            traffickedAcrossBorders: body.traffickedAcrossBorders,
            recruiterRelation: body.recruiterRelation,
            returnWanted: body.returnWanted,
            plannedReturnDate: body.plannedReturnDate ?? null,
            addressee,
            internationalProtectionSought: body.internationalProtectionSought,
            fearsAuthoritiesOf: body.fearsAuthoritiesOf,
            personalDataFields,
          },
          metadata: metadataOf(request, now),
        }, 'no_stream', request);
        if (personalDataFields.length > 0) await ctx.vault.put(tx, caseId, person);
        // The answer is built from what the command wrote, not read back (one round trip fewer).
        const created = projectedCaseRecord(undefined, result.events, principal.orgId) ?? (await findCaseForOrganisation(tx, schema, caseId, principal.orgId));
        if (!created) throw new Error('notified case missing from the read model');
        return {
          statusCode: 201,
          headers: { location: `/v1/cases/${caseId}`, etag: etag(created.version) },
          body: toCaseView(created, result.state, principal.orgId, now, ctx.views),
        };
      });
      ctx.committed();
      return sendIdempotent(reply as unknown as FastifyReply, answer);
    },
  );

  r.get(
    '/v1/cases/:caseId',
    {
      config: { access: { roles: ['case_officer', 'notifier', 'consular_officer', 'service_provider', 'child_protection_officer', 'proceedings_coordinator'] } },
      schema: {
        tags: TAG,
        summary: 'Read a case (the view your purpose allows)',
        description:
          'One schema per purpose, told apart by `view`: the national contact point and its regional centre see the whole file, the notifying partner what it follows, a service provider its own referrals, child protection the child’s situation; fields outside the purpose are absent.',
        params: CaseIdParams,
        response: { 200: CaseView },
      },
    },
    async (request, reply) => {
      // One transaction: the read model row and the folded stream are the same version.
      const { found, loaded } = await ctx.db.transaction().execute(async (tx) => {
        const found = await findCaseForOrganisation(tx, schema, request.params.caseId, request.principal.orgId);
        if (!found) throw notFound('case');
        return { found, loaded: await loadCase(ctx, tx, found.caseId) };
      });
      return reply.header('etag', etag(loaded.version)).send(toCaseView(found, loaded.state, request.principal.orgId, ctx.clock(), ctx.views));
    },
  );

  r.get(
    '/v1/cases',
    {
      config: { access: { roles: ['case_officer', 'notifier', 'consular_officer', 'service_provider', 'child_protection_officer', 'proceedings_coordinator'] } },
      schema: {
        tags: TAG,
        summary: 'List the cases your organisation takes part in',
        description: 'Newest first. Pass `nextCursor` back as `cursor` for the next page.',
        querystring: CaseListQuery,
        response: { 200: CaseList },
      },
    },
    async (request) => {
      const q = request.query;
      const now = ctx.clock();
      const cursor = q.cursor ? decodeCursor(q.cursor, CursorSchema) : undefined;
      const rows = await listCasesForOrganisation(ctx.db, schema, request.principal.orgId, {
        status: q.status,
        situation: q.situation,
        overdue: q.overdue === undefined ? undefined : q.overdue === 'true',
        before: cursor?.before,
        limit: q.limit + 1,
        now,
      });
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      return {
        items: page.map((c) => toCaseSummary(c, now)),
        nextCursor: rows.length > q.limit && last ? encodeCursor({ before: last.caseId }) : null,
      };
    },
  );

  r.post(
    '/v1/cases/:caseId/acknowledgement',
    {
      config: { access: { roles: ['case_officer'] } },
      schema: {
        tags: TAG,
        summary: 'Acknowledge a notification (national contact point)',
        description: 'Records `NotificationAcknowledged`. Send `If-Match` with the case ETag to act only on the version you read.',
        params: CaseIdParams,
        body: AcknowledgeBody,
        response: { 200: CaseView },
      },
    },
    async (request, reply) => {
      const { caseId } = request.params;
      const ifMatch = parseIfMatch(request);
      const now = ctx.clock();
      const rc = await ctx.orgs.get(request.body.regionalCentreId);
      const answer = await runIdempotent({ db: ctx.db, schema, request }, async (tx) => {
        const before = await visibleOr404(ctx, tx, caseId, request);
        if (!rc) throw new ProblemError(422, 'unknown-organisation-reference', 'The regional centre is not a registered organisation.', {
          errors: [{ pointer: '/regionalCentreId', in: 'body', code: 'unknown_organisation', message: 'not a registered organisation' }],
        });
        const result = await executeCaseCommand(ctx, tx, caseId, {
          type: 'AcknowledgeNotification',
          data: {
            keyContactId: request.body.keyContactId,
            alternateContactId: request.body.alternateContactId,
            regionalCentre: { id: rc.id, type: rc.type, parentOrgId: rc.parentId, active: rc.active },
          },
          metadata: metadataOf(request, now),
        }, ifMatch, request);
        // Built from the record read above and the events written, unless the case moved in
        // between (read before the stream lock): then read back.
        const decidedOn = result.version - result.events.length;
        const updated =
          (before.version === decidedOn ? projectedCaseRecord(before, result.events, request.principal.orgId) : undefined) ??
          (await findCaseForOrganisation(tx, schema, caseId, request.principal.orgId));
        return { statusCode: 200, headers: { etag: etag(result.version) }, body: toCaseView(updated!, result.state, request.principal.orgId, now, ctx.views) };
      });
      ctx.committed();
      return sendIdempotent(reply as unknown as FastifyReply, answer);
    },
  );

  r.get(
    '/v1/cases/:caseId/personal-data',
    {
      config: { access: { roles: ['case_officer', 'notifier', 'service_provider', 'child_protection_officer', 'consular_officer'] } },
      schema: {
        tags: TAG,
        summary: 'Read the personal data of a case (recorded)',
        description:
          'Decrypts the fields you have a legal basis for, decided by the service from the case (never declared by you) and returned in `legalBases`: ' +
          '`collected_by_reader` (items your organisation put in the file itself that hold nobody else’s values), `statutory_coordination` (the contact point the case is addressed to and its regional centre: names, other names, birth date and place, contacts, documents, narrative; health only with consent), ' +
          '`statutory_child_protection` (child protection on a child’s case: what child protection needs), `consent` (the person’s consent to share with your organisation stands: what your purpose needs; a provider only the contact data of its own open referral). ' +
          'Items in the file you have no basis for are not returned and are named in `withheld`; with no basis for any item, 403 (`consent-required` or `purpose-not-allowed`). A consent withdrawal takes effect on the next request. ' +
          'Law enforcement reads only what it submitted itself unless the person consented to share with it, never on a statutory basis. ' +
          'Every read is recorded with its bases and the withheld items (who, which case, which purpose, which fields) before the data is returned: the first read of a window as `PersonalDataAccessed` at once, the repeats by the same user within *policy* TRM_ACCESS_COALESCE_SECONDS (300) as one later `PersonalDataAccessed` with their `count`, `firstReadAt` and `lastReadAt`. After erasure the answer is `erased`.',
        params: CaseIdParams,
        querystring: PersonalDataQuery,
        response: { 200: PersonalDataView },
      },
    },
    async (request) => {
      const { caseId } = request.params;
      const result = await ctx.db.transaction().execute(async (tx) => {
        await visibleOr404(ctx, tx, caseId, request);
        const { state } = await loadCase(ctx, tx, caseId);
        if (state.erased) {
          // Nothing is left to read: the answer says so, and the attempt is recorded.
          const erased = await ctx.vault.get(tx, caseId, []);
          await recordPersonalDataAccess(ctx, tx, caseId, { purpose: request.query.purpose, fields: [], legalBases: [], withheldFields: [] }, request);
          return { data: erased, legalBases: [], withheld: [] };
        }
        const access = personalDataAccess(state, request.principal.orgId, request.principal.orgType);
        const readable = access.fields.filter((f) => state.presentItems.includes(f));
        const withheld = state.presentItems.filter((f) => !access.fields.includes(f));
        const data = await ctx.vault.get(tx, caseId, readable);
        const read = data.status === 'present' ? Object.keys(data.data).sort() : [];
        const legalBases = legalBasesOf(access, read);
        await recordPersonalDataAccess(ctx, tx, caseId, { purpose: request.query.purpose, fields: read, legalBases, withheldFields: withheld }, request);
        return { data, legalBases, withheld };
      });
      ctx.committed();
      const { data, legalBases, withheld } = result;
      if (data.status === 'present') return { caseId, status: 'present' as const, data: data.data, legalBases, withheld };
      if (data.status === 'erased') return { caseId, status: 'erased' as const, erasedAt: new Date(data.erasedAt).toISOString() };
      return { caseId, status: 'absent' as const, legalBases, withheld };
    },
  );
}

async function visibleOr404(ctx: ReferralsContext, tx: Parameters<typeof findCaseForOrganisation>[0], caseId: string, request: FastifyRequest): Promise<CaseRecord> {
  const c = await findCaseForOrganisation(tx, ctx.schema, caseId, request.principal.orgId);
  if (!c) throw notFound('case');
  return c;
}
