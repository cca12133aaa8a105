import {
  CASE_NOTIFIED_SCHEMA_VERSION,
  type CaseNotifiedData,
  DomainError,
  type NotificationAcknowledgedData,
  type OrganisationType,
  type ReferralsEvent,
} from '@trm/contracts';
import type { Decider } from '@trm/event-store';
import type { CaseCommand, CommandMetadata, NotifyCaseData } from './case.commands.js';
import { type CaseState, evolve, initialCaseState } from './case.state.js';
import { decideCaseWork } from './case-work.decisions.js';
import { requireCase, requireOpen } from './case.guards.js';
import { addresseeUnmet } from './routing.js';
import { type ChildrenPolicy, acknowledgeChildProtection, childrenPolicyOf, assessAge, childProtectionJoins, correctAttributes } from './children.decisions.js';
import { ageBandOf as bandOf, minorityFromFacts } from './minority.js';

export interface ReferralsPolicy extends Partial<ChildrenPolicy> {
  /** Days the national contact point has to acknowledge a notification (DOMAIN: 2). */
  acknowledgementDays: number;
  /** Days an organisation has to answer a request for information (DOMAIN: 7). */
  informationRequestDays: number;
  /** Longest reflection period granted (DOMAIN: 90, Romanian law for foreign victims). */
  reflectionMaxDays: number;
}

export const DEFAULT_REFERRALS_POLICY: ReferralsPolicy = { acknowledgementDays: 2, informationRequestDays: 7, reflectionMaxDays: 90 };

export type { CommandMetadata, NotifyCaseData, RegionalCentreRef, OrganisationRef } from './case.commands.js';
export type { ContactPointRef } from './routing.js';
export type { CaseCommand } from './case.commands.js';
export { type CaseState, initialCaseState, evolve } from './case.state.js';

const DAY_MS = 86_400_000;

export function ageBandOf(age: number): CaseNotifiedData['ageBand'] {
  return bandOf(age);
}

export { childrenPolicyOf };

/** Organisations that take part in the case and may see it. */
export function participantsOf(state: CaseState): string[] {
  return [...new Set(state.participants.map((p) => p.organisationId))];
}

export function createCaseDecider(policy: ReferralsPolicy = DEFAULT_REFERRALS_POLICY): Decider<CaseCommand, ReferralsEvent, CaseState> {
  return {
    initialState: initialCaseState,
    evolve,
    decide(command, state) {
      switch (command.type) {
        case 'NotifyCase':
          return notify(command.data, command.metadata, state, policy);
        case 'AcknowledgeNotification':
          return acknowledge(command.data, command.metadata, state);
        case 'AcknowledgeChildProtection':
          return acknowledgeChildProtection(command, state);
        case 'AssessAge':
          return assessAge(command, state);
        case 'CorrectAttributes':
          return correctAttributes(command, state, childrenPolicyOf(policy));
        default:
          return decideCaseWork(command, state, policy);
      }
    },
  };
}

function notify(data: NotifyCaseData, meta: CommandMetadata, state: CaseState, policy: ReferralsPolicy): ReferralsEvent[] {
  if (state.status !== 'none') throw new DomainError('case-already-exists', 'conflict', 'A case with this id already exists.');
  if (meta.organisationType === null) throw new Error('NotifyCase needs the notifying organisation type');
  const unmet: string[] = [];
  const today = meta.now.toISOString().slice(0, 10);
  if (data.identificationDate > today) unmet.push('identification-date-in-future');
  if (data.birthYear !== null && (data.birthYear > Number(data.identificationDate.slice(0, 4)) || data.birthYear < 1900)) {
    unmet.push('birth-year-out-of-range');
  }
  if (!data.returnWanted && data.plannedReturnDate !== null) unmet.push('planned-return-date-without-return-wanted');
  if (data.plannedReturnDate !== null && data.plannedReturnDate < data.identificationDate) unmet.push('planned-return-before-identification');
  if (data.ageApproximate && data.ageAtIdentification === null) unmet.push('approximate-without-age');
  const citizenships = data.citizenships ?? [data.citizenship];
  if (citizenships[0] !== data.citizenship) unmet.push('citizenship-not-first-of-citizenships');
  if (citizenships.length > 1 && citizenships.some((c) => c === 'stateless' || c === 'unknown')) unmet.push('stateless-or-unknown-citizenship-alone');
  const { addressee, internationalProtectionSought = false, fearsAuthoritiesOf = [], childProtection, ...facts } = data;
  const protection = { internationalProtectionSought, fearsAuthoritiesOf: [...new Set(fearsAuthoritiesOf)].sort() };
  // The contact point it is addressed to coordinates: it must be one that may (routing rules).
  unmet.push(...addresseeUnmet({ ...facts, ...protection }, addressee));
  if (unmet.length > 0) throw new DomainError('invalid-notification', 'invalid', 'The notification is not consistent.', unmet);

  // Presumption of minority (CETS 197 Art. 10(3)): an unknown or uncertain age is a child's.
  const m = minorityFromFacts({
    ageAtIdentification: data.ageAtIdentification,
    ageApproximate: data.ageApproximate ?? false,
    birthYear: data.birthYear,
    identificationDate: data.identificationDate,
  });
  const notifiedAt = meta.now.toISOString();
  const notified: CaseNotifiedData = {
    ...facts,
    nationalContactPointIds: [addressee.id],
    addressedTo: addressee.id,
    ...protection,
    notifyingOrganisationId: meta.organisationId,
    notifyingOrganisationType: meta.organisationType,
    ageBand: m.ageBand,
    minor: m.minor,
    minorBasis: m.basis,
    notifiedAt,
    acknowledgementDueAt: new Date(meta.now.getTime() + policy.acknowledgementDays * DAY_MS).toISOString(),
  };
  const events: ReferralsEvent[] = [{ type: 'CaseNotified', data: notified, schemaVersion: CASE_NOTIFIED_SCHEMA_VERSION }];
  // Child protection joins every child's case at once (routed by policy, else the contact point chooses).
  if (m.minor) {
    events.push(...childProtectionJoins({ childProtectionRequest: null, participants: [] }, data.caseId, childProtection, 'notification', meta, childrenPolicyOf(policy)));
  }
  return events;
}

function acknowledge(
  data: Extract<CaseCommand, { type: 'AcknowledgeNotification' }>['data'],
  meta: CommandMetadata,
  state: CaseState,
): ReferralsEvent[] {
  requireCase(state);
  requireOpen(state);
  if (!state.nationalContactPointIds.includes(meta.organisationId)) {
    throw new DomainError('not-the-national-contact-point', 'forbidden', 'Only the national contact point of the case acknowledges it.');
  }
  if (state.status === 'acknowledged') {
    throw new DomainError('already-acknowledged', 'conflict', 'The notification was already acknowledged.');
  }
  const unmet: string[] = [];
  if (data.keyContactId === data.alternateContactId) unmet.push('alternate-contact-must-differ');
  const rc = data.regionalCentre;
  if (rc.type !== 'national_contact_point' || rc.parentOrgId !== meta.organisationId) unmet.push('regional-centre-not-of-this-contact-point');
  if (!rc.active) unmet.push('regional-centre-inactive');
  if (unmet.length > 0) throw new DomainError('invalid-acknowledgement', 'invalid', 'The acknowledgement is not consistent.', unmet);

  const acknowledgedAt = meta.now.toISOString();
  const ack: NotificationAcknowledgedData = {
    caseId: state.caseId!,
    acknowledgedBy: meta.organisationId,
    keyContactId: data.keyContactId,
    alternateContactId: data.alternateContactId,
    regionalCentreId: rc.id,
    acknowledgedAt,
    late: state.acknowledgementDueAt !== null && acknowledgedAt > state.acknowledgementDueAt,
  };
  return [{ type: 'NotificationAcknowledged', data: ack }];
}
