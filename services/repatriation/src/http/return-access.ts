import {
  type AccessPurpose,
  accessPurposesOf,
  fieldMask,
  maskShows,
  PURPOSE_OF_PARTICIPATION,
  projectFields,
  RETURN_FIELDS,
  RETURN_TIMELINE,
  type ParticipantPurpose,
} from '@trm/contracts';
import type { OrganisationType } from '@trm/contracts';
import { type CaseFacts, isNationalContactPoint } from '../domain/case-facts.js';
import type { ReturnState } from '../domain/return.decider.js';

/**
 * Why an organisation takes part in a return, as the access matrix names it
 * (packages/contracts/src/access-matrix.ts): its purposes in the case, a law-enforcement notifier
 * counting as law enforcement (never the destination partner), plus the parts the return itself
 * gives it: the escort of the travel plan, the receiving organisation.
 */
export function returnPurposesOf(facts: CaseFacts, state: ReturnState | null, orgId: string, orgType: OrganisationType | string): Set<AccessPurpose> {
  const lawEnforcement = orgType === 'law_enforcement';
  const out = accessPurposesOf(
    facts.participants.filter((p) => p.organisationId === orgId).map((p) => p.purpose),
    { lawEnforcement },
  );
  if (isNationalContactPoint(facts, orgId)) out.add('coordination');
  if (facts.notifyingOrganisationId === orgId) out.add(lawEnforcement ? 'law_enforcement' : 'notifier');
  if (state) {
    if (state.travelPlan?.escortOrganisationId === orgId) out.add('escort');
    if (state.reception?.receivingOrganisationId === orgId || state.arrival?.receivedBy === orgId || state.handedOver?.receivingOrganisationId === orgId) out.add('reception');
  }
  return out;
}

/** Whether these purposes see anything of a return (otherwise it does not exist for them: 404). */
export function seesReturn(purposes: ReadonlySet<AccessPurpose>): boolean {
  return fieldMask(RETURN_FIELDS, purposes).size > 0;
}

/** The view as the matrix lets these purposes see it. */
export function projectReturn<T extends object>(view: T, purposes: ReadonlySet<AccessPurpose>): Partial<T> {
  return projectFields(view, fieldMask(RETURN_FIELDS, purposes)) as Partial<T>;
}

/** The entries of a return's timeline these purposes see (those that changed a field they see). */
export function visibleTimeline<E extends { type: string }>(entries: E[], purposes: ReadonlySet<AccessPurpose>): E[] {
  const mask = fieldMask(RETURN_FIELDS, purposes);
  return entries.filter((e) => {
    const field = RETURN_TIMELINE[e.type];
    return field !== undefined && maskShows(mask, field);
  });
}

/**
 * For listings in SQL: the participant purposes (as stored in `case_participants`) whose holders
 * a list admitting `purposes` shows, and whether the escort and the receiving organisation are
 * admitted through the return itself.
 */
export function admittedBy(purposes: readonly AccessPurpose[], orgType: OrganisationType | string): { participantPurposes: string[]; escort: boolean; reception: boolean } {
  const lawEnforcement = orgType === 'law_enforcement';
  const participantPurposes = (Object.entries(PURPOSE_OF_PARTICIPATION) as Array<[ParticipantPurpose, AccessPurpose]>)
    .filter(([participant, access]) => purposes.includes(access) && !(lawEnforcement && participant === 'notifier'))
    .map(([participant]) => participant);
  // A law-enforcement notifier is law enforcement in the return.
  if (lawEnforcement && purposes.includes('law_enforcement')) participantPurposes.push('notifier');
  return { participantPurposes, escort: purposes.includes('escort'), reception: purposes.includes('reception') };
}
