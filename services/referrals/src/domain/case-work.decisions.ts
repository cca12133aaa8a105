import { DomainError, type InformationItem, type ReferralsEvent, unmetConditions } from '@trm/contracts';
import type { CaseCommand, CommandMetadata, OrganisationRef } from './case.commands.js';
import type { ReferralsPolicy } from './case.decider.js';
import { isParticipant, requireCase, requireCoordinator, requireOpen } from './case.guards.js';
import { type CaseState, type ReferralState, consentKey, coordinatorsOf, informationDeadlineId, reflectionDeadlineId, riskFlagKey } from './case.state.js';
import { completenessOf } from './completeness.js';
import { InformationItemsRefused } from './case.errors.js';
import { mayRead, personalDataAccessOf } from './personal-data.rules.js';
import { furtherContactPointUnmet, isFurtherContactPoint } from './routing.js';
import { childConsentUnmet, childProtectionJoins, childrenPolicyOf, consentCounts, emergencyReferralUnmet, minorityAfterBirthYear } from './children.decisions.js';

/** Council of Europe Convention Art. 13: a reflection period of at least 30 days. A treaty floor, not a policy. */
export const REFLECTION_MIN_DAYS = 30;
const DAY_MS = 86_400_000;

type WorkCommand = Exclude<CaseCommand, { type: 'NotifyCase' | 'AcknowledgeNotification' | 'AcknowledgeChildProtection' | 'AssessAge' | 'CorrectAttributes' }>;
type Of<T extends WorkCommand['type']> = Extract<WorkCommand, { type: T }>;

const today = (meta: CommandMetadata) => meta.now.toISOString().slice(0, 10);
const addDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00.000Z`) + days * DAY_MS).toISOString().slice(0, 10);
const invalid = (code: string, unmet: string[]) => new DomainError(code, 'invalid', 'The command is not consistent.', unmet);

/** Items that are lists: an answer may add to them without reading them. */
const APPENDABLE_ITEMS: ReadonlySet<InformationItem> = new Set(['otherNames', 'documents']);

/** Organisation types fit for each purpose an organisation can be added with. */
const PURPOSE_TYPES: Partial<Record<string, readonly string[]>> = {
  travel_documents: ['consulate'],
  service_provision: ['service_provider', 'ngo', 'international_organisation'],
  child_protection: ['child_protection'],
  return: ['international_organisation', 'ngo', 'consulate'],
  // The victim's side: never law enforcement (DOMAIN: law enforcement never acts on the victim's side).
  proceedings_support: ['ngo', 'international_organisation'],
  law_enforcement: ['law_enforcement'],
  // A further contact point (the case coordinates with the one it was addressed to): see addParticipant.
  national_contact_point: ['national_contact_point'],
};
/** Purposes the case gives by itself (notification, acknowledgement); `national_contact_point` only to the contact point it was addressed to. */
const IMPLIED_PURPOSES = new Set(['notifier', 'regional_centre']);

export function decideCaseWork(command: WorkCommand, state: CaseState, policy: ReferralsPolicy): ReferralsEvent[] {
  requireCase(state);
  const caseId = state.caseId!;
  const meta = command.metadata;
  // Reopening and erasure are the only changes a closed case accepts: the person's right to
  // erasure does not wait for a case to be reopened. A hand-over from repatriation reopens it.
  if (command.type !== 'ReopenCase' && command.type !== 'ErasePersonalData' && command.type !== 'RecordAssistanceNeeds') requireOpen(state);
  switch (command.type) {
    case 'RequestInformation':
      return requestInformation(command, state, caseId, policy);
    case 'ProvideInformation':
      return provideInformation(command, state, caseId, policy);
    case 'DetermineVictimStatus': {
      requireCoordinator(state, meta);
      if (command.data.determinedOn > today(meta)) throw invalid('invalid-victim-status', ['determined-on-in-future']);
      return [{ type: 'VictimStatusDetermined', data: { caseId, ...command.data, recordedBy: meta.organisationId } }];
    }
    case 'GrantReflectionPeriod':
      return grantReflection(command, state, caseId, policy);
    case 'EndReflectionPeriod': {
      requireCoordinator(state, meta);
      const r = state.reflection;
      if (!r || r.endedOn !== null) throw new DomainError('no-reflection-period-running', 'conflict', 'No reflection period is running.', ['reflection-period-running']);
      if (command.data.endedOn < r.startsOn) throw invalid('invalid-reflection-period-end', ['ended-before-start']);
      return [{ type: 'ReflectionPeriodEnded', data: { caseId, periodNumber: r.periodNumber, ...command.data, recordedBy: meta.organisationId } }];
    }
    case 'RecordConsent':
      return recordConsent(command, state, caseId);
    case 'WithdrawConsent':
      return withdrawConsent(command, state, caseId);
    case 'AddParticipant':
      return addParticipant(command, state, caseId);
    case 'RemoveParticipant': {
      requireCoordinator(state, meta);
      const { organisationId, purpose } = command.data;
      if (IMPLIED_PURPOSES.has(purpose) || (purpose === 'national_contact_point' && !isFurtherContactPoint(state, organisationId))) {
        throw invalid('invalid-participant', ['purpose-implied-by-case']);
      }
      if (!isParticipant(state, organisationId, purpose)) throw new DomainError('participant-not-found', 'not_found', 'The organisation does not take part for this purpose.');
      if (purpose === 'child_protection' && state.minor && state.participants.filter((p) => p.purpose === 'child_protection').length === 1) {
        throw unmetConditions('child-protection-required', 'A child case keeps child protection as a participant.', ['child-protection-participant-required']);
      }
      return [{ type: 'ParticipantRemoved', data: { caseId, organisationId, purpose } }];
    }
    case 'MakeServiceReferral': {
      const emergency = command.data.emergency === true;
      if (emergency) {
        // Emergency assistance for a child (shelter, medical): child protection refers before any consent.
        const unmet = emergencyReferralUnmet(state, meta, command.data.service);
        if (!PURPOSE_TYPES.service_provision!.includes(command.data.provider.type)) unmet.push('provider-not-a-service-provider');
        if (!command.data.provider.active) unmet.push('provider-inactive');
        if (unmet.length > 0) throw unmetConditions('emergency-referral-refused', 'The emergency referral cannot be made.', unmet);
      } else {
        requireCoordinator(state, meta);
      }
      if (state.referrals[command.data.referralId]) throw new DomainError('service-referral-already-exists', 'conflict', 'This referral id is taken.');
      if (!emergency) referralGate(state, command.data.provider);
      return [
        {
          type: 'ServiceReferralMade',
          data: {
            caseId,
            referralId: command.data.referralId,
            service: command.data.service,
            providerOrgId: command.data.provider.id,
            madeBy: meta.organisationId,
            returnId: null,
            madeAt: meta.now.toISOString(),
            ...(emergency ? { emergency: true } : {}),
          },
        },
        ...joinAsProvider(state, caseId, command.data.provider),
      ];
    }
    case 'RecordAssistanceNeeds': {
      // Needs handed over by repatriation share nothing with anyone until a provider is assigned,
      // so the referral gates apply at assignment (AssignServiceReferral), not here: refusing a
      // hand-over would lose the returned person's needs.
      const { returnId, services, referralIds } = command.data;
      if (services.length !== referralIds.length) throw new Error('one referral id per service');
      // A person handed over after the case was closed meanwhile has new needs: the hand-over
      // reopens the case (CaseReopened, new_needs) for the contact point to act on, never a refusal
      // that would end in the dead letters with the person's needs.
      const reopened: ReferralsEvent[] = state.closed
        ? [{ type: 'CaseReopened', data: { caseId, reason: 'new_needs', reopenedBy: meta.organisationId, reopenedAt: meta.now.toISOString() } }]
        : [];
      return [
        ...reopened,
        ...services.map((service, i) => ({
          type: 'ServiceReferralMade' as const,
          data: { caseId, referralId: referralIds[i]!, service, providerOrgId: null, madeBy: meta.organisationId, returnId, madeAt: meta.now.toISOString() },
        })),
      ];
    }
    case 'AssignServiceReferral': {
      requireCoordinator(state, meta);
      const r = referralOf(state, command.data.referralId);
      if (r.providerOrgId !== null || r.status !== 'made') {
        throw new DomainError('service-referral-already-assigned', 'conflict', 'The referral already has a provider.', ['referral-unassigned']);
      }
      referralGate(state, command.data.provider);
      return [
        { type: 'ServiceReferralAssigned', data: { caseId, referralId: r.referralId, providerOrgId: command.data.provider.id, assignedBy: meta.organisationId } },
        ...joinAsProvider(state, caseId, command.data.provider),
      ];
    }
    case 'AcceptServiceReferral': {
      const r = providersReferral(state, command.data.referralId, meta);
      requireReferralStatus(r, ['made']);
      return [{ type: 'ServiceReferralAccepted', data: { caseId, referralId: r.referralId, acceptedBy: meta.organisationId } }];
    }
    case 'DeclineServiceReferral': {
      const r = providersReferral(state, command.data.referralId, meta);
      requireReferralStatus(r, ['made']);
      return [{ type: 'ServiceReferralDeclined', data: { caseId, referralId: r.referralId, declinedBy: meta.organisationId, reason: command.data.reason } }];
    }
    case 'RecordAssistanceDelivered': {
      const r = providersReferral(state, command.data.referralId, meta);
      requireReferralStatus(r, ['accepted']);
      const { periodFrom, periodTo, cost } = command.data;
      const unmet: string[] = [];
      if (periodFrom > periodTo) unmet.push('period-ends-before-it-starts');
      if (periodTo > today(meta)) unmet.push('period-in-future');
      if (unmet.length > 0) throw invalid('invalid-assistance', unmet);
      return [{ type: 'AssistanceDelivered', data: { caseId, referralId: r.referralId, service: r.service, deliveredBy: meta.organisationId, periodFrom, periodTo, cost } }];
    }
    case 'CloseServiceReferral': {
      const r = referralOf(state, command.data.referralId);
      const isProvider = r.providerOrgId === meta.organisationId;
      if (!isProvider && !coordinatorsOf(state).includes(meta.organisationId)) {
        throw new DomainError('not-the-provider', 'forbidden', 'Only the provider of the referral or the national contact point closes it.');
      }
      requireReferralStatus(r, command.data.reason === 'completed' ? ['accepted'] : ['made', 'accepted']);
      return [{ type: 'ServiceReferralClosed', data: { caseId, referralId: r.referralId, reason: command.data.reason, closedBy: meta.organisationId } }];
    }
    case 'RecordMonitoringContact': {
      if (!coordinatorsOf(state).includes(meta.organisationId) && !isParticipant(state, meta.organisationId, 'child_protection')) {
        throw new DomainError('not-the-national-contact-point', 'forbidden', 'Monitoring is recorded by the contact point, its regional centre or child protection.');
      }
      if (command.data.contactedOn > today(meta)) throw invalid('invalid-monitoring-contact', ['contacted-on-in-future']);
      return [{ type: 'MonitoringContactRecorded', data: { caseId, ...command.data, recordedBy: meta.organisationId } }];
    }
    case 'RaiseRiskFlag':
      if (!isParticipant(state, meta.organisationId)) throw new DomainError('case-not-found', 'not_found', 'No such case.');
      // Never refused (the safety rules depend on flags), but a flag identical to the open one
      // from the same organisation adds nothing: it coalesces into it, no new event.
      if (state.openRiskFlags[riskFlagKey(command.data.kind, meta.organisationId)] === command.data.level) return [];
      return [{ type: 'RiskFlagRaised', data: { caseId, ...command.data, raisedBy: meta.organisationId, raisedAt: meta.now.toISOString() } }];
    case 'CloseCase': {
      requireCoordinator(state, meta);
      const events: ReferralsEvent[] = [{ type: 'CaseClosed', data: { caseId, reason: command.data.reason, closedBy: meta.organisationId, closedAt: meta.now.toISOString() } }];
      for (const r of openReferrals(state)) {
        events.push({ type: 'ServiceReferralClosed', data: { caseId, referralId: r.referralId, reason: 'case_closed', closedBy: meta.organisationId } });
      }
      const rp = state.reflection;
      if (rp && rp.endedOn === null) {
        events.push({ type: 'ReflectionPeriodEnded', data: { caseId, periodNumber: rp.periodNumber, endedOn: today(meta), reason: 'case_closed', recordedBy: meta.organisationId } });
      }
      return events;
    }
    case 'ReopenCase':
      requireCoordinator(state, meta);
      if (!state.closed) throw new DomainError('case-not-closed', 'conflict', 'The case is open.', ['case-closed']);
      return [{ type: 'CaseReopened', data: { caseId, reason: command.data.reason, reopenedBy: meta.organisationId, reopenedAt: meta.now.toISOString() } }];
    case 'ErasePersonalData':
      requireCoordinator(state, meta);
      if (state.erased) throw new DomainError('personal-data-already-erased', 'conflict', 'The personal data of this case was already erased.');
      return [{ type: 'PersonalDataErased', data: { caseId, reason: command.data.reason, erasedBy: meta.organisationId, erasedAt: meta.now.toISOString() } }];
    case 'RecordDeadlineMissed': {
      const d = state.deadlines[command.data.deadlineId];
      if (!d) throw new DomainError('deadline-not-found', 'not_found', 'No such deadline in this case.');
      // The dedupe that lets several schedulers race: the second one finds it recorded.
      if (d.missed) throw new DomainError('deadline-already-recorded', 'conflict', 'This missed deadline is already recorded.');
      if (d.met) throw new DomainError('deadline-met', 'conflict', 'The deadline was met.');
      if (meta.now.toISOString() <= d.dueAt) throw new DomainError('deadline-not-due', 'conflict', 'The deadline has not passed.');
      return [{ type: 'DeadlineMissed', data: { caseId, deadlineId: command.data.deadlineId, kind: d.kind, dueAt: d.dueAt, detectedAt: meta.now.toISOString() } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`Unknown command ${(unknown as { type: string }).type}`);
    }
  }
}

function requestInformation(command: Of<'RequestInformation'>, state: CaseState, caseId: string, policy: ReferralsPolicy): ReferralsEvent[] {
  const meta = command.metadata;
  requireCoordinator(state, meta);
  const { informationRequestId, requestedFrom, items } = command.data;
  const unmet: string[] = [];
  if (!isParticipant(state, requestedFrom)) unmet.push('requested-organisation-not-a-participant');
  if (state.erased) unmet.push('personal-data-erased');
  if (unmet.length > 0) throw invalid('invalid-information-request', unmet);
  if (state.informationRequests[informationRequestId]) throw new DomainError('information-request-already-exists', 'conflict', 'This request id is taken.');
  return [
    {
      type: 'InformationRequested',
      data: {
        caseId,
        informationRequestId,
        requestedBy: meta.organisationId,
        requestedFrom,
        items,
        requestedAt: meta.now.toISOString(),
        dueAt: new Date(meta.now.getTime() + policy.informationRequestDays * DAY_MS).toISOString(),
      },
    },
  ];
}

function provideInformation(command: Of<'ProvideInformation'>, state: CaseState, caseId: string, policy: ReferralsPolicy): ReferralsEvent[] {
  const meta = command.metadata;
  const req = state.informationRequests[command.data.informationRequestId];
  if (!req) throw new DomainError('information-request-not-found', 'not_found', 'No such request for information in this case.');
  if (req.requestedFrom !== meta.organisationId) throw new DomainError('not-the-requested-organisation', 'forbidden', 'The request was addressed to another organisation.');
  if (req.providedItems !== null) throw new DomainError('information-already-provided', 'conflict', 'This request was already answered.');
  if (state.erased) throw unmetConditions('personal-data-erased', 'The personal data of this case was erased.', ['personal-data-erased']);
  const items = [...new Set(command.data.items)].sort();
  // An answer carries only what was asked: anything else is refused, and nothing is written.
  const notRequested = items.filter((i) => !req.items.includes(i));
  if (notRequested.length > 0) {
    throw new InformationItemsRefused('information-not-requested', 'invalid', 'The answer gives items that were not requested.', ['only-requested-items'], notRequested, 'not_requested');
  }
  // It adds to the file, never writes over what its author cannot read: list items (documents,
  // other names) are appended, any other item already present is refused.
  const access = personalDataAccessOf(state, meta.organisationId, meta.organisationType);
  const unreadable = items.filter((i) => state.presentItems.includes(i) && !mayRead(access, i));
  const overwritten = unreadable.filter((i) => !APPENDABLE_ITEMS.has(i));
  if (overwritten.length > 0) {
    throw new InformationItemsRefused(
      'information-overwrite-refused',
      'conflict',
      'The answer would overwrite items already in the file that your organisation cannot read.',
      ['present-items-not-readable'],
      overwritten,
      'present_and_not_readable',
    );
  }
  const after = completenessOf([...state.presentItems, ...items]);
  // A birth date given later recomputes minority: it can make the person a child, never an adult.
  const birthYear = command.data.birthYear ?? null;
  const m = birthYear !== null ? minorityAfterBirthYear(state, birthYear) : null;
  const changed = m !== null && (m.minor !== state.minor || m.basis !== state.minorBasis);
  return [
    {
      type: 'InformationProvided',
      data: {
        caseId,
        informationRequestId: req.informationRequestId,
        providedBy: meta.organisationId,
        items,
        ...(unreadable.length > 0 ? { appendedItems: unreadable } : {}),
        missingItems: after.missing,
        completenessScore: after.score,
        providedAt: meta.now.toISOString(),
        ...(birthYear !== null ? { birthYear } : {}),
        ...(changed ? { minor: m.minor, minorBasis: m.basis, ageBand: m.ageBand } : {}),
      },
    },
    ...(m?.minor ? childProtectionJoins(state, caseId, command.data.childProtection, 'information', meta, childrenPolicyOf(policy)) : []),
  ];
}

function grantReflection(command: Of<'GrantReflectionPeriod'>, state: CaseState, caseId: string, policy: ReferralsPolicy): ReferralsEvent[] {
  const meta = command.metadata;
  requireCoordinator(state, meta);
  const { startsOn, days } = command.data;
  const unmet: string[] = [];
  if (days < REFLECTION_MIN_DAYS) unmet.push('reflection-period-below-minimum');
  if (days > policy.reflectionMaxDays) unmet.push('reflection-period-above-maximum');
  if (unmet.length > 0) throw invalid('invalid-reflection-period', unmet);
  if (state.reflection && state.reflection.endedOn === null) {
    throw unmetConditions('reflection-period-already-running', 'A reflection period is running.', ['no-reflection-period-running']);
  }
  return [
    {
      type: 'ReflectionPeriodGranted',
      data: { caseId, periodNumber: (state.reflection?.periodNumber ?? 0) + 1, startsOn, endsOn: addDays(startsOn, days - 1), days, grantedBy: meta.organisationId },
    },
  ];
}

function recordConsent(command: Of<'RecordConsent'>, state: CaseState, caseId: string): ReferralsEvent[] {
  const meta = command.metadata;
  requireConsentRecorder(state, meta);
  const { purpose, sharingWith, givenOn } = command.data;
  const unmet: string[] = [];
  if (purpose === 'sharing' && sharingWith === null) unmet.push('sharing-needs-organisation');
  if (purpose !== 'sharing' && sharingWith !== null) unmet.push('only-sharing-names-an-organisation');
  if (givenOn > today(meta)) unmet.push('given-on-in-future');
  if (!state.minor && command.data.givenBy !== undefined && command.data.givenBy !== 'person') unmet.push('representative-only-for-a-child');
  if (unmet.length > 0) throw invalid('invalid-consent', unmet);
  // Consent for a child: the guardian, or a parent when the family is not involved, with the child's views.
  const child = childConsentUnmet(state, command.data);
  if (child.length > 0) throw unmetConditions('child-consent-refused', 'A child’s consent is given by the appointed guardian, or a parent when no family involvement is recorded, with the child’s views recorded.', child);
  // A child's case: a consent the person gave before it turned out a child's is replaced by the representative's.
  const existing = state.consents[consentKey(purpose, sharingWith)];
  if (existing && consentCounts(state, existing)) throw new DomainError('consent-already-recorded', 'conflict', 'This consent is already in force.');
  const giver = command.data.givenBy !== undefined ? { givenBy: command.data.givenBy } : {};
  const views = command.data.childViews !== undefined ? { childViews: command.data.childViews } : {};
  return [{ type: 'ConsentRecorded', data: { caseId, purpose, sharingWith, givenOn, recordedBy: meta.organisationId, ...giver, ...views } }];
}

/**
 * Withdrawal takes effect at once: the referrals that relied on the consent close in the same
 * decision, and personal-data reads check the consents of the current state.
 */
function withdrawConsent(command: Of<'WithdrawConsent'>, state: CaseState, caseId: string): ReferralsEvent[] {
  const meta = command.metadata;
  requireConsentRecorder(state, meta);
  const { purpose, sharingWith, withdrawnOn } = command.data;
  if (!state.consents[consentKey(purpose, sharingWith)]) throw unmetConditions('consent-not-given', 'This consent is not in force.', ['consent-in-force']);
  const relying = openReferrals(state).filter((r) =>
    purpose === 'assistance' ? true : purpose === 'sharing' ? r.providerOrgId !== null && r.providerOrgId === sharingWith : false,
  );
  // A further contact point takes part only on the person's consent to share with it: it leaves with it.
  const leaving = purpose === 'sharing' && sharingWith !== null && isFurtherContactPoint(state, sharingWith);
  return [
    { type: 'ConsentWithdrawn', data: { caseId, purpose, sharingWith, withdrawnOn, recordedBy: meta.organisationId } },
    ...relying.map((r) => ({
      type: 'ServiceReferralClosed' as const,
      data: { caseId, referralId: r.referralId, reason: 'consent_withdrawn' as const, closedBy: meta.organisationId },
    })),
    ...(leaving ? [{ type: 'ParticipantRemoved' as const, data: { caseId, organisationId: sharingWith, purpose: 'national_contact_point' as const } }] : []),
  ];
}

function requireConsentRecorder(state: CaseState, meta: CommandMetadata): void {
  // Consent is the victim's: law enforcement never records it, not even as the notifying organisation.
  if (meta.organisationType === 'law_enforcement') {
    throw unmetConditions('law-enforcement-not-victims-side', 'Law enforcement does not record the victim’s consents: the contact point does.', ['recorder-not-law-enforcement']);
  }
  if (!coordinatorsOf(state).includes(meta.organisationId) && state.notifyingOrganisationId !== meta.organisationId) {
    throw new DomainError('not-the-national-contact-point', 'forbidden', 'Consent is recorded by the contact point, its regional centre or the notifying organisation.');
  }
}

function addParticipant(command: Of<'AddParticipant'>, state: CaseState, caseId: string): ReferralsEvent[] {
  requireCoordinator(state, command.metadata);
  const { organisation, purpose } = command.data;
  const unmet: string[] = [];
  if (IMPLIED_PURPOSES.has(purpose)) unmet.push('purpose-implied-by-case');
  else if (!PURPOSE_TYPES[purpose]?.includes(organisation.type)) unmet.push('organisation-type-does-not-fit-purpose');
  else if (purpose === 'national_contact_point' && (organisation.parentOrgId ?? null) !== null) unmet.push('contact-point-not-central');
  if (!organisation.active) unmet.push('organisation-inactive');
  if (unmet.length > 0) throw invalid('invalid-participant', unmet);
  // Child protection routed to a child's case joined it on its own: adding it again changes nothing.
  if (purpose === 'child_protection' && state.childProtectionRequest?.childProtectionOrgId === organisation.id && isParticipant(state, organisation.id, purpose)) return [];
  if (isParticipant(state, organisation.id, purpose) || (purpose === 'national_contact_point' && coordinatorsOf(state).includes(organisation.id))) {
    throw new DomainError('already-a-participant', 'conflict', 'The organisation already takes part for this purpose.');
  }
  if (purpose === 'national_contact_point') {
    // A further contact point (notably the one of a foreign victim's own country) joins only on
    // the person's consent to share with it, never while international protection is sought,
    // never one of a country whose authorities the person fears.
    const refused = furtherContactPointUnmet(state, {
      id: organisation.id,
      type: organisation.type,
      // The registry's country; without it, no country can be ruled out: refused.
      country: organisation.country ?? '??',
      parentOrgId: organisation.parentOrgId ?? null,
      active: organisation.active,
    });
    if (organisation.country === undefined) refused.push('contact-point-country-unknown');
    if (refused.length > 0) throw unmetConditions('contact-point-refused', 'The contact point cannot join this case.', refused);
  }
  return [{ type: 'ParticipantAdded', data: { caseId, organisationId: organisation.id, organisationType: organisation.type, purpose } }];
}

/**
 * The gates of a service referral, all checked so the refusal names every unmet condition:
 * consent for assistance, consent for sharing with this provider, child protection for a child.
 */
function referralGate(state: CaseState, provider: OrganisationRef): void {
  const unmet: string[] = [];
  // For a child, only the guardian's or a parent's consent counts (one the person gave as an adult, before the case became a child's, does not).
  const assistance = state.consents[consentKey('assistance', null)];
  const sharing = state.consents[consentKey('sharing', provider.id)];
  if (!assistance) unmet.push('consent-for-assistance-missing');
  else if (!consentCounts(state, assistance)) unmet.push('consent-for-assistance-not-by-legal-representative');
  if (!sharing) unmet.push('consent-for-sharing-with-provider-missing');
  else if (!consentCounts(state, sharing)) unmet.push('consent-for-sharing-not-by-legal-representative');
  if (state.minor && !state.participants.some((p) => p.purpose === 'child_protection')) unmet.push('child-protection-participant-missing');
  if (!PURPOSE_TYPES.service_provision!.includes(provider.type)) unmet.push('provider-not-a-service-provider');
  if (!provider.active) unmet.push('provider-inactive');
  if (unmet.length > 0) throw unmetConditions('service-referral-refused', 'The service referral cannot be made yet.', unmet);
}

function joinAsProvider(state: CaseState, caseId: string, provider: OrganisationRef): ReferralsEvent[] {
  if (isParticipant(state, provider.id, 'service_provision')) return [];
  return [{ type: 'ParticipantAdded', data: { caseId, organisationId: provider.id, organisationType: provider.type, purpose: 'service_provision' } }];
}

function referralOf(state: CaseState, referralId: string): ReferralState {
  const r = state.referrals[referralId];
  if (!r) throw new DomainError('service-referral-not-found', 'not_found', 'No such service referral in this case.');
  return r;
}

/** A provider acts only on its own referrals; anyone else is told it does not exist. */
function providersReferral(state: CaseState, referralId: string, meta: CommandMetadata): ReferralState {
  const r = state.referrals[referralId];
  if (!r || (r.providerOrgId !== meta.organisationId && !coordinatorsOf(state).includes(meta.organisationId))) {
    throw new DomainError('service-referral-not-found', 'not_found', 'No such service referral in this case.');
  }
  if (r.providerOrgId !== meta.organisationId) throw new DomainError('not-the-provider', 'forbidden', 'Only the provider of the referral does this.');
  return r;
}

function requireReferralStatus(r: ReferralState, allowed: ReferralState['status'][]): void {
  if (!allowed.includes(r.status)) {
    throw unmetConditions('service-referral-not-open', `The referral is ${r.status}.`, allowed.map((s) => `referral-${s}`));
  }
}

export function openReferrals(state: CaseState): ReferralState[] {
  return Object.values(state.referrals).filter((r) => r.status === 'made' || r.status === 'accepted');
}

export { informationDeadlineId, reflectionDeadlineId };
