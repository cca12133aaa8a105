import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { v7 as uuidv7 } from 'uuid';
import type { z } from 'zod';
import type { InformationItem, InformationProvidedData, Role } from '@trm/contracts';
import { ProblemError, etag, notFound, parseIfMatch, runIdempotent, sendIdempotent } from '@trm/platform';
import type { Transaction } from 'kysely';
import type { RecordedEvent } from '@trm/event-store';
import type { ReferralsContext } from '../context.js';
import type { CaseCommand, OrganisationRef } from '../domain/case.commands.js';
import { executeCaseCommand, metadataOf } from '../handlers/case.handler.js';
import { findCaseForOrganisation } from '../repositories/case.repository.js';
import { CaseIdParams, type PersonInput } from './case.schemas.js';
import * as B from './case-commands.schemas.js';
import { CaseCreated, CaseView } from './case-views.schemas.js';
import { toCaseView } from './case-views.js';

type CommandBody = Omit<CaseCommand, 'metadata'>;

interface CommandRoute {
  url: string;
  roles: Role[];
  summary: string;
  description: string;
  params?: z.ZodType;
  body: z.ZodType;
  /** The command creates something with a fresh id: 201 with `{ id, case }`. */
  creates?: boolean;
  /** Registry reads, before the transaction (on PGlite the transaction holds the only connection). */
  prepare?: (ctx: ReferralsContext, body: any, params: any) => Promise<Record<string, OrganisationRef>>;
  command: (body: any, params: any, orgs: Record<string, OrganisationRef>, newId: string) => CommandBody;
  /** Writes that commit with the events (the vault), once the decider accepted the command. */
  inTransaction?: (ctx: ReferralsContext, tx: Transaction<any>, caseId: string, body: any, events: RecordedEvent[]) => Promise<void>;
  /** Headers that tell what the command did (stored with an idempotent answer). */
  headers?: (events: RecordedEvent[]) => Record<string, string>;
}

async function organisation(ctx: ReferralsContext, id: string, pointer: string): Promise<OrganisationRef> {
  const org = await ctx.orgs.get(id);
  if (!org) {
    throw new ProblemError(422, 'unknown-organisation-reference', 'The request names an organisation that is not registered.', {
      errors: [{ pointer, in: 'body', code: 'unknown_organisation', message: 'not a registered organisation' }],
    });
  }
  return { id: org.id, type: org.type, active: org.active, country: org.country, parentOrgId: org.parentId };
}

/**
 * The child protection authority that would join the case should a command make it a child's
 * (read before the transaction): routed by the country of the contact point the case is
 * addressed to and the county recorded (or corrected) for it.
 */
async function childProtectionOfCase(ctx: ReferralsContext, caseId: string, county?: string | null): Promise<Record<string, OrganisationRef>> {
  const row = await ctx.db.withSchema(ctx.schema).selectFrom('cases').select(['attributes']).where('case_id', '=', caseId).executeTakeFirst();
  const a = (row?.attributes ?? {}) as { addressedTo?: string | null; nationalContactPointIds?: string[]; county?: string | null };
  const ncp = a.addressedTo ?? a.nationalContactPointIds?.[0];
  const country = ncp ? (await ctx.orgs.get(ncp))?.country : undefined;
  if (!country) return {};
  const cp = await ctx.childProtectionFor(country, county === undefined ? a.county : county);
  return cp ? { childProtection: cp } : {};
}

const COORDINATOR: Role[] = ['case_officer'];
const REFERRAL = '/v1/cases/:caseId/service-referrals/:referralId';

const ROUTES: CommandRoute[] = [
  {
    url: '/v1/cases/:caseId/information-requests',
    roles: COORDINATOR,
    summary: 'Request missing information',
    description: 'Records `InformationRequested` (national contact point). The organisation asked has *policy* 7 days to answer, else the request shows as overdue in GET /v1/deadlines.',
    body: B.RequestInformationBody,
    creates: true,
    command: (b, _p, _o, id) => ({ type: 'RequestInformation', data: { informationRequestId: id, requestedFrom: b.requestedFrom, items: b.items } }),
  },
  {
    url: '/v1/cases/:caseId/information-requests/:informationRequestId/answer',
    // Any participant may be asked; the decider lets only the organisation asked answer.
    roles: ['notifier', 'case_officer', 'service_provider', 'child_protection_officer', 'consular_officer'],
    summary: 'Provide the information requested',
    description:
      'Records `InformationProvided` with the names of the items given, the required items still missing and the completeness score. The values go to the vault, encrypted, never into the event. ' +
      'Only the items requested: any other is refused with 422 `information-not-requested` (a pointer per item, never its value) and nothing is written. ' +
      'An item already in the file that your organisation cannot read is never written over: a list (`documents`, `otherNames`) is added to (`appendedItems` in the event), any other such item is refused with 409 `information-overwrite-refused`.',
    params: B.InformationRequestParams,
    body: B.ProvideInformationBody,
    // A birth date given later recomputes minority: child protection joins if the person turns out a child.
    prepare: async (ctx, b, p) => (b.person.birthDate ? childProtectionOfCase(ctx, p.caseId) : {}),
    command: (b, p, o) => ({
      type: 'ProvideInformation',
      data: {
        informationRequestId: p.informationRequestId,
        items: Object.keys(b.person).sort() as InformationItem[],
        ...(b.person.birthDate ? { birthYear: Number(String(b.person.birthDate).slice(0, 4)), childProtection: o.childProtection ?? null } : {}),
      },
    }),
    inTransaction: async (ctx, tx, caseId, b: { person: PersonInput }, events) => {
      // The decider accepted exactly these items (all requested, none overwriting what the answerer cannot read).
      const provided = events.find((e) => e.type === 'InformationProvided')?.data as InformationProvidedData | undefined;
      if (!provided) return;
      const fields: Record<string, unknown> = {};
      for (const item of provided.items) fields[item] = b.person[item as keyof PersonInput];
      const appended = provided.appendedItems ?? [];
      if (appended.length > 0) {
        const current = await ctx.vault.get(tx, caseId, appended);
        const existing = current.status === 'present' ? current.data : {};
        for (const item of appended) {
          const before = existing[item];
          fields[item] = [...(Array.isArray(before) ? before : []), ...(fields[item] as unknown[])];
        }
      }
      if (Object.keys(fields).length > 0) await ctx.vault.put(tx, caseId, fields);
    },
  },
  {
    url: '/v1/cases/:caseId/victim-status',
    roles: COORDINATOR,
    summary: 'Record the victim status determined',
    description: 'Records `VictimStatusDetermined` (possible / actual / not_a_victim) and the type of body that decided.',
    body: B.VictimStatusBody,
    command: (b) => ({ type: 'DetermineVictimStatus', data: b }),
  },
  {
    url: '/v1/cases/:caseId/reflection-period',
    roles: COORDINATOR,
    summary: 'Grant a reflection period',
    description: 'Records `ReflectionPeriodGranted`: at least 30 days (Council of Europe Convention Art. 13), at most *policy* 90 days.',
    body: B.GrantReflectionBody,
    command: (b) => ({ type: 'GrantReflectionPeriod', data: b }),
  },
  {
    url: '/v1/cases/:caseId/reflection-period/end',
    roles: COORDINATOR,
    summary: 'End the reflection period',
    description: 'Records `ReflectionPeriodEnded`.',
    body: B.EndReflectionBody,
    command: (b) => ({ type: 'EndReflectionPeriod', data: b }),
  },
  {
    url: '/v1/cases/:caseId/consents',
    roles: ['case_officer', 'notifier'],
    summary: 'Record informed consent for a purpose',
    description:
      'Records `ConsentRecorded`. `sharing` names the organisation the data may be shared with. Notification never implies consent to cooperate with law enforcement. ' +
      'For a child (CETS 197 Art. 10(4)) consent is given by the appointed guardian (`givenBy: guardian`), or by a parent only when no family involvement in the trafficking is recorded (the recruiter is not a family member), with the child’s views recorded (`childViews`); otherwise 409 `child-consent-refused` naming each unmet condition.',
    body: B.ConsentBody,
    prepare: async (ctx, b): Promise<Record<string, OrganisationRef>> => (b.sharingWith ? { sharingWith: await organisation(ctx, b.sharingWith, '/sharingWith') } : {}),
    command: (b) => ({
      type: 'RecordConsent',
      data: { purpose: b.purpose, sharingWith: b.sharingWith ?? null, givenOn: b.givenOn, ...(b.givenBy ? { givenBy: b.givenBy } : {}), ...(b.childViews ? { childViews: b.childViews } : {}) },
    }),
  },
  {
    url: '/v1/cases/:caseId/consents/withdrawal',
    roles: ['case_officer', 'notifier'],
    summary: 'Withdraw consent (takes effect at once)',
    description:
      'Records `ConsentWithdrawn` and, in the same transaction, `ServiceReferralClosed` for every open referral that relied on it (and `ParticipantRemoved` for a further contact point that took part on it). From the next request, no organisation reads personal data on that consent: what it read on it is withheld (403 when it has no other basis).',
    body: B.WithdrawConsentBody,
    command: (b) => ({ type: 'WithdrawConsent', data: { purpose: b.purpose, sharingWith: b.sharingWith ?? null, withdrawnOn: b.withdrawnOn } }),
  },
  {
    url: '/v1/cases/:caseId/participants',
    roles: COORDINATOR,
    summary: 'Add a participant with a purpose',
    description:
      'Records `ParticipantAdded`. The organisation then sees the view of the case its purpose needs. ' +
      'Purpose `national_contact_point` adds a further central contact point (the case is coordinated by the one it was addressed to), notably the one of a foreign victim’s own country: ' +
      'only with the person’s consent to share with it, never while the case records that international protection is sought, never one of a country whose authorities the person fears (409 `contact-point-refused` naming each unmet condition); it leaves the case when that consent is withdrawn.',
    body: B.AddParticipantBody,
    prepare: async (ctx, b) => ({ organisation: await organisation(ctx, b.organisationId, '/organisationId') }),
    command: (b, _p, o) => ({ type: 'AddParticipant', data: { organisation: o.organisation!, purpose: b.purpose } }),
  },
  {
    url: '/v1/cases/:caseId/participants/removal',
    roles: COORDINATOR,
    summary: 'Remove a participant',
    description: 'Records `ParticipantRemoved`. A child case keeps at least one child protection participant.',
    body: B.RemoveParticipantBody,
    command: (b) => ({ type: 'RemoveParticipant', data: b }),
  },
  {
    url: '/v1/cases/:caseId/service-referrals',
    roles: ['case_officer', 'child_protection_officer'],
    summary: 'Refer the person to a service provider',
    description:
      'Records `ServiceReferralMade` (and `ParticipantAdded` for the provider). Refused with 409 `service-referral-refused` naming every unmet gate: consent for assistance, consent for sharing with that provider, child protection as participant for a child, a provider able to provide services, an open case. ' +
      'With `emergency: true`, child protection (or the contact point) refers a child to emergency shelter or medical care before any consent, recorded as emergency; otherwise 409 `emergency-referral-refused` (emergency-referral-only-for-a-child, emergency-service-shelter-or-medical, emergency-referral-by-child-protection).',
    body: B.MakeReferralBody,
    creates: true,
    prepare: async (ctx, b) => ({ provider: await organisation(ctx, b.providerOrganisationId, '/providerOrganisationId') }),
    command: (b, _p, o, id) => ({ type: 'MakeServiceReferral', data: { referralId: id, service: b.service, provider: o.provider!, ...(b.emergency ? { emergency: true } : {}) } }),
  },
  {
    url: `${REFERRAL}/assignment`,
    roles: COORDINATOR,
    summary: 'Assign a provider to a referral created from a hand-over',
    description: 'Records `ServiceReferralAssigned`; the same gates as making a referral apply.',
    params: B.ReferralParams,
    body: B.AssignReferralBody,
    prepare: async (ctx, b) => ({ provider: await organisation(ctx, b.providerOrganisationId, '/providerOrganisationId') }),
    command: (_b, p, o) => ({ type: 'AssignServiceReferral', data: { referralId: p.referralId, provider: o.provider! } }),
  },
  {
    url: `${REFERRAL}/acceptance`,
    roles: ['service_provider'],
    summary: 'Accept a referral (its provider)',
    description: 'Records `ServiceReferralAccepted`.',
    params: B.ReferralParams,
    body: B.AcceptReferralBody,
    command: (_b, p) => ({ type: 'AcceptServiceReferral', data: { referralId: p.referralId } }),
  },
  {
    url: `${REFERRAL}/decline`,
    roles: ['service_provider'],
    summary: 'Decline a referral (its provider)',
    description: 'Records `ServiceReferralDeclined` with the reason.',
    params: B.ReferralParams,
    body: B.DeclineReferralBody,
    command: (b, p) => ({ type: 'DeclineServiceReferral', data: { referralId: p.referralId, reason: b.reason } }),
  },
  {
    url: `${REFERRAL}/assistance`,
    roles: ['service_provider'],
    summary: 'Record assistance delivered and its cost',
    description: 'Records `AssistanceDelivered`: period, cost and ISO 4217 currency (amount as a decimal string).',
    params: B.ReferralParams,
    body: B.AssistanceBody,
    command: (b, p) => ({ type: 'RecordAssistanceDelivered', data: { referralId: p.referralId, ...b } }),
  },
  {
    url: `${REFERRAL}/closure`,
    roles: ['service_provider', 'case_officer'],
    summary: 'Close a referral',
    description: 'Records `ServiceReferralClosed`: `completed` by its provider after acceptance, or `cancelled`.',
    params: B.ReferralParams,
    body: B.CloseReferralBody,
    command: (b, p) => ({ type: 'CloseServiceReferral', data: { referralId: p.referralId, reason: b.reason } }),
  },
  {
    url: '/v1/cases/:caseId/child-protection/acknowledgement',
    roles: ['child_protection_officer'],
    summary: 'Acknowledge a child’s case (child protection)',
    description:
      'Records `ChildProtectionAcknowledged`: child protection taking part received the child’s case. Until then the case is on its deadline board (`child_protection`, *policy* TRM_CHILD_PROTECTION_HOURS, 24 h; `late` after it).',
    body: B.ChildProtectionAcknowledgementBody,
    command: () => ({ type: 'AcknowledgeChildProtection', data: {} }),
  },
  {
    url: '/v1/cases/:caseId/age-assessment',
    roles: ['child_protection_officer'],
    summary: 'Record an age assessment (child protection)',
    description:
      'Records `AgeAssessed` (method, result, estimated age): the only way out of presumed minority (CETS 197 Art. 10(3)). A result of `adult` ends the child’s status (`minor: false`); `child` sets `minorBasis: assessed`. Later information or a correction can make the person a child again, never an adult.',
    body: B.AgeAssessmentBody,
    command: (b) => ({ type: 'AssessAge', data: { method: b.method, assessedOn: b.assessedOn, result: b.result, estimatedAge: b.estimatedAge ?? null } }),
  },
  {
    url: '/v1/cases/:caseId/corrections',
    roles: ['case_officer', 'notifier'],
    summary: 'Correct the notification',
    description:
      'Records `AttributesCorrected` with the reason, the old and new value of each non-personal attribute changed and only the names of the personal-data items corrected (their values go to the vault, encrypted). ' +
      'By the coordinating contact point, or by the notifying organisation for what it submitted within *policy* TRM_NOTIFIER_CORRECTION_DAYS (30) of the notification (409 `correction-refused`). ' +
      'Views, deadlines, gates and statistics follow: a correction that makes the person a child gives the case the child’s safeguards at once (child protection joins, with its deadline); a correction never makes a child an adult (only an age assessment does). 422 `invalid-correction` when it changes nothing or contradicts itself.',
    body: B.CorrectionBody,
    prepare: async (ctx, b, p) => childProtectionOfCase(ctx, p.caseId, b.attributes.county),
    command: (b, _p, o) => {
      const { age, citizenship, ...rest } = b.attributes as Record<string, unknown> & { age?: number | null; citizenship?: string | string[] };
      const attributes: Record<string, unknown> = { ...rest };
      if (age !== undefined) attributes.ageAtIdentification = age;
      if (citizenship !== undefined) attributes.citizenship = Array.isArray(citizenship) ? citizenship : [citizenship];
      // A corrected birth date corrects the birth year the case's attributes carry.
      if (b.person.birthDate && attributes.birthYear === undefined) attributes.birthYear = Number(String(b.person.birthDate).slice(0, 4));
      return {
        type: 'CorrectAttributes',
        data: { reason: b.reason, attributes, personalDataFields: Object.keys(b.person).sort() as InformationItem[], childProtection: o.childProtection ?? null },
      };
    },
    inTransaction: async (ctx, tx, caseId, b: { person: PersonInput }, events) => {
      // The decider accepted the correction; the values go to the vault, never into the event.
      const corrected = events.find((e) => e.type === 'AttributesCorrected');
      if (corrected && Object.keys(b.person).length > 0) await ctx.vault.put(tx, caseId, b.person as Record<string, unknown>);
    },
  },
  {
    url: '/v1/cases/:caseId/monitoring-contacts',
    roles: ['case_officer', 'child_protection_officer'],
    summary: 'Record a monitoring contact',
    description: 'Records `MonitoringContactRecorded` (no free text: it would invite personal data into an event).',
    body: B.MonitoringBody,
    command: (b) => ({ type: 'RecordMonitoringContact', data: b }),
  },
  {
    url: '/v1/cases/:caseId/risk-flags',
    roles: ['case_officer', 'child_protection_officer', 'service_provider', 'notifier'],
    summary: 'Raise a risk flag',
    description:
      'Records `RiskFlagRaised` (re-trafficking, lost contact, threat). Any participant may raise one, and it is never refused on an open case. ' +
      'A flag identical (kind and level) to the latest one of that kind your organisation raised since the case was last opened coalesces into it: 200, no new event, `Risk-Flag-Coalesced: true` (else `false`).',
    body: B.RiskFlagBody,
    command: (b) => ({ type: 'RaiseRiskFlag', data: b }),
    headers: (events) => ({ 'risk-flag-coalesced': String(events.length === 0) }),
  },
  {
    url: '/v1/cases/:caseId/closure',
    roles: COORDINATOR,
    summary: 'Close the case',
    description: 'Records `CaseClosed`; open referrals close with it. A closed case refuses changes (409 `case-closed`) until reopened.',
    body: B.CloseCaseBody,
    command: (b) => ({ type: 'CloseCase', data: b }),
  },
  {
    url: '/v1/cases/:caseId/reopening',
    roles: COORDINATOR,
    summary: 'Reopen a closed case',
    description: 'Records `CaseReopened`.',
    body: B.ReopenCaseBody,
    command: (b) => ({ type: 'ReopenCase', data: b }),
  },
  {
    url: '/v1/cases/:caseId/personal-data/erasure',
    roles: COORDINATOR,
    summary: 'Erase the personal data (crypto-shredding)',
    description: 'Destroys the case’s vault key and records `PersonalDataErased`. The events stay; reads of personal data then answer `erased`.',
    body: B.EraseBody,
    command: (b) => ({ type: 'ErasePersonalData', data: b }),
    inTransaction: async (ctx, tx, caseId) => void (await ctx.vault.erase(tx, caseId)),
  },
];

export async function caseCommandRoutes(app: FastifyInstance, ctx: ReferralsContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  for (const def of ROUTES) {
    r.post(
      def.url,
      {
        config: { access: { roles: def.roles } },
        schema: {
          tags: ['cases'],
          summary: def.summary,
          description: `${def.description} Send \`If-Match\` with the case ETag to act only on the version you read, and \`Idempotency-Key\` to retry safely.`,
          params: def.params ?? CaseIdParams,
          body: def.body,
          response: def.creates ? { 201: CaseCreated } : { 200: CaseView },
        },
      },
      async (request: FastifyRequest, reply) => {
        const params = request.params as { caseId: string };
        const caseId = params.caseId;
        const body = request.body;
        const orgId = request.principal.orgId;
        const ifMatch = parseIfMatch(request);
        const now = ctx.clock();
        const orgs = def.prepare ? await def.prepare(ctx, body, params) : {};
        const newId = uuidv7();
        const answer = await runIdempotent({ db: ctx.db, schema: ctx.schema, request }, async (tx) => {
          if (!(await findCaseForOrganisation(tx, ctx.schema, caseId, orgId))) throw notFound('case');
          const command = { ...def.command(body, params, orgs, newId), metadata: metadataOf(request, now) } as CaseCommand;
          const result = await executeCaseCommand(ctx, tx, caseId, command, ifMatch, request);
          if (def.inTransaction) await def.inTransaction(ctx, tx, caseId, body, result.events);
          const record = await findCaseForOrganisation(tx, ctx.schema, caseId, orgId);
          if (!record) throw notFound('case');
          const view = toCaseView(record, result.state, orgId, now, ctx.views);
          return {
            statusCode: def.creates ? 201 : 200,
            headers: { etag: etag(result.version), ...def.headers?.(result.events) },
            body: def.creates ? { id: newId, case: view } : view,
          };
        });
        // A stored answer is a view of the case: never replayed to an organisation that left it since.
        if (answer.replayed && !(await findCaseForOrganisation(ctx.db, ctx.schema, caseId, orgId))) throw notFound('case');
        ctx.committed();
        return sendIdempotent(reply as unknown as FastifyReply, answer);
      },
    );
  }
}
