import {
  type AttributesCorrectedData,
  type CorrectableAttribute,
  DomainError,
  type ReferralsEvent,
  isCountrylessCitizenship,
  unmetConditions,
} from '@trm/contracts';
import type { CaseCommand, CommandMetadata, OrganisationRef } from './case.commands.js';
import { isParticipant, requireCase, requireCoordinator, requireOpen } from './case.guards.js';
import { CHILD_PROTECTION_DEADLINE_ID, type CaseState, coordinatorsOf } from './case.state.js';
import { type AgeFacts, type Minority, minorityAfterAssessment, minorityAfterFacts } from './minority.js';

/**
 * Children (issue 17) and corrections (issue 18): child protection joins every child's case at
 * once with a deadline to acknowledge, the age assessment is the only way out of presumed
 * minority, consent for a child comes from the guardian (or a parent when the family is not
 * involved), emergency assistance before consent, and corrections that recompute minority.
 */

export interface ChildrenPolicy {
  /** Hours child protection has to acknowledge a child's case (issue 17: 24). */
  childProtectionHours: number;
  /** Days the notifier may correct what it submitted (issue 18: 30). */
  notifierCorrectionDays: number;
}

export const DEFAULT_CHILDREN_POLICY: ChildrenPolicy = { childProtectionHours: 24, notifierCorrectionDays: 30 };

/** The children's policy with its defaults (24 h for child protection, 30 days for the notifier's corrections). */
export function childrenPolicyOf(policy: Partial<ChildrenPolicy>): ChildrenPolicy {
  return {
    childProtectionHours: policy.childProtectionHours ?? DEFAULT_CHILDREN_POLICY.childProtectionHours,
    notifierCorrectionDays: policy.notifierCorrectionDays ?? DEFAULT_CHILDREN_POLICY.notifierCorrectionDays,
  };
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

type Of<T extends CaseCommand['type']> = Extract<CaseCommand, { type: T }>;

/** A usable child protection authority, as routed before the command (inactive or of another type: none). */
function usableChildProtection(cp: OrganisationRef | null | undefined): OrganisationRef | null {
  return cp && cp.active && cp.type === 'child_protection' ? cp : null;
}

/**
 * The events that make child protection join a case that is (or just became) a child's: the
 * request with its deadline, and the routed authority as participant at once. Nothing when a
 * request is already open or was acknowledged.
 */
export function childProtectionJoins(
  state: Pick<CaseState, 'childProtectionRequest' | 'participants'>,
  caseId: string,
  routed: OrganisationRef | null | undefined,
  trigger: 'notification' | 'information' | 'correction',
  meta: CommandMetadata,
  policy: ChildrenPolicy,
): ReferralsEvent[] {
  if (state.childProtectionRequest) return [];
  const cp = usableChildProtection(routed);
  const events: ReferralsEvent[] = [
    {
      type: 'ChildProtectionRequested',
      data: {
        caseId,
        childProtectionOrgId: cp?.id ?? null,
        trigger,
        requestedAt: meta.now.toISOString(),
        dueAt: new Date(meta.now.getTime() + policy.childProtectionHours * HOUR_MS).toISOString(),
      },
    },
  ];
  if (cp && !state.participants.some((p) => p.organisationId === cp.id && p.purpose === 'child_protection')) {
    events.push({ type: 'ParticipantAdded', data: { caseId, organisationId: cp.id, organisationType: cp.type, purpose: 'child_protection' } });
  }
  return events;
}

export function acknowledgeChildProtection(command: Of<'AcknowledgeChildProtection'>, state: CaseState): ReferralsEvent[] {
  requireCase(state);
  requireOpen(state);
  const meta = command.metadata;
  if (!isParticipant(state, meta.organisationId, 'child_protection')) {
    throw new DomainError('not-child-protection', 'forbidden', 'Only child protection taking part in the case acknowledges it.');
  }
  const req = state.childProtectionRequest;
  if (!req) throw unmetConditions('child-protection-not-requested', 'Child protection was not asked to join this case.', ['child-protection-requested']);
  if (req.acknowledgedBy !== null) throw new DomainError('child-protection-already-acknowledged', 'conflict', 'Child protection already acknowledged this case.');
  const at = meta.now.toISOString();
  return [{ type: 'ChildProtectionAcknowledged', data: { caseId: state.caseId!, acknowledgedBy: meta.organisationId, acknowledgedAt: at, late: at > req.dueAt } }];
}

/** `AgeAssessed`: only child protection taking part, only on a child's case (or one whose age is in question). */
export function assessAge(command: Of<'AssessAge'>, state: CaseState): ReferralsEvent[] {
  requireCase(state);
  requireOpen(state);
  const meta = command.metadata;
  if (!isParticipant(state, meta.organisationId, 'child_protection')) {
    throw new DomainError('not-child-protection', 'forbidden', 'Only child protection taking part in the case assesses the age.');
  }
  const { method, assessedOn, result, estimatedAge } = command.data;
  const unmet: string[] = [];
  if (assessedOn > meta.now.toISOString().slice(0, 10)) unmet.push('assessed-on-in-future');
  if (estimatedAge !== null && (result === 'child') !== estimatedAge < 18) unmet.push('estimated-age-contradicts-result');
  if (unmet.length > 0) throw new DomainError('invalid-age-assessment', 'invalid', 'The age assessment is not consistent.', unmet);
  const m = minorityAfterAssessment(result, estimatedAge);
  return [
    {
      type: 'AgeAssessed',
      data: { caseId: state.caseId!, assessedBy: meta.organisationId, method, assessedOn, result, estimatedAge, ageBand: m.ageBand, minor: m.minor },
    },
  ];
}

/**
 * Consent for a child (CETS 197 Art. 10(4)): given by the appointed guardian, or by a parent only
 * when no family involvement in the trafficking is recorded (the recruiter is a family member),
 * with the child's views recorded. Empty: the consent may be recorded.
 */
export function childConsentUnmet(state: CaseState, data: Of<'RecordConsent'>['data']): string[] {
  if (!state.minor) return [];
  const unmet: string[] = [];
  const by = data.givenBy ?? 'person';
  if (by === 'person') unmet.push('consent-by-guardian-or-parent-required');
  if (by === 'parent' && familyInvolved(state)) unmet.push('parent-not-allowed-family-involved');
  if (data.childViews === undefined) unmet.push('child-views-not-recorded');
  return unmet;
}

/**
 * Whether a consent in force counts for this case: for a child only one given by the guardian or
 * a parent (a consent the person gave before the case turned out a child's does not).
 */
export function consentCounts(state: CaseState, c: { givenBy?: string } | undefined): boolean {
  if (!c) return false;
  return !state.minor || c.givenBy === 'guardian' || c.givenBy === 'parent';
}

/** Family involvement in the trafficking is recorded: the recruiter relation says family member. */
export function familyInvolved(state: CaseState): boolean {
  return state.attributes.recruiterRelation === 'family_member';
}

/** Emergency assistance for a child: child protection, shelter or medical, no consent needed yet. */
export function emergencyReferralUnmet(state: CaseState, meta: CommandMetadata, service: string): string[] {
  const unmet: string[] = [];
  if (!state.minor) unmet.push('emergency-referral-only-for-a-child');
  if (service !== 'shelter' && service !== 'medical') unmet.push('emergency-service-shelter-or-medical');
  if (!isParticipant(state, meta.organisationId, 'child_protection') && !coordinatorsOf(state).includes(meta.organisationId)) {
    unmet.push('emergency-referral-by-child-protection');
  }
  return unmet;
}

/** Minority after an answer gave a birth year: the same rule as a correction (a child, never an adult). */
export function minorityAfterBirthYear(state: CaseState, birthYear: number): Minority | null {
  if (!state.ageFacts) return null;
  return minorityAfterFacts({ minor: state.minor, basis: state.minorBasis, assessedAdult: state.assessedAdult }, { ...state.ageFacts, birthYear });
}

const AGE_ATTRIBUTES: ReadonlySet<CorrectableAttribute> = new Set(['ageAtIdentification', 'ageApproximate', 'birthYear', 'identificationDate']);

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * `AttributesCorrected` (issue 18): by the coordinating contact point, or by the notifier for
 * what it submitted within the policy days of the notification; with a reason; names the old and
 * new value of every attribute changed and only the names of personal-data items. Minority is
 * recomputed (a child, never an adult); a case that becomes a child's gets child protection.
 */
export function correctAttributes(command: Of<'CorrectAttributes'>, state: CaseState, policy: ChildrenPolicy): ReferralsEvent[] {
  requireCase(state);
  requireOpen(state);
  const meta = command.metadata;
  const caseId = state.caseId!;
  const coordinator = coordinatorsOf(state).includes(meta.organisationId);
  if (!coordinator) {
    if (state.notifyingOrganisationId !== meta.organisationId) requireCoordinator(state, meta);
    const deadline = Date.parse(state.notifiedAt ?? '') + policy.notifierCorrectionDays * DAY_MS;
    if (meta.now.getTime() > deadline) {
      throw unmetConditions('correction-refused', 'The notifier corrects what it submitted only within the policy days of the notification.', ['notifier-correction-period-over']);
    }
    // What it submitted: the notification's attributes, and the personal data only it put in the file.
    const notOwn = command.data.personalDataFields.filter((f) => {
      const by = state.collectedBy[f];
      return by !== undefined && by.some((o) => o !== meta.organisationId);
    });
    if (notOwn.length > 0) throw unmetConditions('correction-refused', 'The notifier corrects only the personal data it submitted.', notOwn.map((f) => `not-submitted-by-notifier:${f}`));
  }
  if (state.erased && command.data.personalDataFields.length > 0) throw unmetConditions('personal-data-erased', 'The personal data of this case was erased.', ['personal-data-erased']);

  const after = { ...state.attributes, ...command.data.attributes };
  const changes: AttributesCorrectedData['changes'] = [];
  for (const [attribute, to] of Object.entries(command.data.attributes) as Array<[CorrectableAttribute, unknown]>) {
    if (!sameValue(state.attributes[attribute], to)) changes.push({ attribute, from: state.attributes[attribute] ?? null, to: to ?? null });
  }
  if (changes.length === 0 && command.data.personalDataFields.length === 0) {
    throw new DomainError('invalid-correction', 'invalid', 'The correction changes nothing.', ['correction-changes-nothing']);
  }
  const today = meta.now.toISOString().slice(0, 10);
  const unmet: string[] = [];
  const idDate = String(after.identificationDate);
  if (idDate > today) unmet.push('identification-date-in-future');
  const by = after.birthYear as number | null;
  if (by !== null && by !== undefined && (by > Number(idDate.slice(0, 4)) || by < 1900)) unmet.push('birth-year-out-of-range');
  const planned = (after.plannedReturnDate as string | null | undefined) ?? null;
  if (planned !== null && after.returnWanted === false) unmet.push('planned-return-date-without-return-wanted');
  if (planned !== null && planned < idDate) unmet.push('planned-return-before-identification');
  const citizenships = after.citizenship as string[];
  if (citizenships.length > 1 && citizenships.some(isCountrylessCitizenship)) unmet.push('stateless-or-unknown-citizenship-alone');
  if (unmet.length > 0) throw new DomainError('invalid-correction', 'invalid', 'The correction is not consistent.', unmet);

  const ageChanged = changes.some((c) => AGE_ATTRIBUTES.has(c.attribute));
  const facts: AgeFacts = {
    ageAtIdentification: (after.ageAtIdentification as number | null | undefined) ?? null,
    ageApproximate: Boolean(after.ageApproximate),
    birthYear: by ?? null,
    identificationDate: idDate,
  };
  const m: Minority = ageChanged
    ? minorityAfterFacts({ minor: state.minor, basis: state.minorBasis, assessedAdult: state.assessedAdult }, facts)
    : { minor: state.minor, basis: state.minorBasis, ageBand: state.ageBand, age: null };
  const events: ReferralsEvent[] = [
    {
      type: 'AttributesCorrected',
      data: {
        caseId,
        correctedBy: meta.organisationId,
        reason: command.data.reason,
        changes,
        personalDataFields: [...new Set(command.data.personalDataFields)].sort(),
        minor: m.minor,
        minorBasis: m.basis,
        ageBand: m.ageBand,
        correctedAt: meta.now.toISOString(),
      },
    },
  ];
  // A case that is (now) a child's gets child protection at once, unless it was asked already.
  if (m.minor) events.push(...childProtectionJoins(state, caseId, command.data.childProtection, 'correction', meta, policy));
  return events;
}

export { CHILD_PROTECTION_DEADLINE_ID };
