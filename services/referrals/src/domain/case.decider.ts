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

export interface ReferralsPolicy {
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
  if (age <= 13) return '0-13';
  if (age <= 17) return '14-17';
  if (age <= 25) return '18-25';
  if (age <= 35) return '26-35';
  return '36+';
}

/**
 * With only a birth year, someone born in Y is Y'-Y-1 or Y'-Y years old during year Y'. A child
 * must never be treated as an adult by mistake, so the lower bound decides minority and band.
 */
function ageFacts(data: NotifyCaseData): { age: number | null; minor: boolean } {
  if (data.ageAtIdentification !== null) return { age: data.ageAtIdentification, minor: data.ageAtIdentification < 18 };
  if (data.birthYear !== null) {
    const lower = Number(data.identificationDate.slice(0, 4)) - data.birthYear - 1;
    return { age: Math.max(lower, 0), minor: lower < 18 };
  }
  return { age: null, minor: false };
}

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
  if (data.ageAtIdentification === null && data.birthYear === null) unmet.push('age-or-birth-year-required');
  if (data.birthYear !== null && (data.birthYear > Number(data.identificationDate.slice(0, 4)) || data.birthYear < 1900)) {
    unmet.push('birth-year-out-of-range');
  }
  if (!data.returnWanted && data.plannedReturnDate !== null) unmet.push('planned-return-date-without-return-wanted');
  if (data.plannedReturnDate !== null && data.plannedReturnDate < data.identificationDate) unmet.push('planned-return-before-identification');
  const { addressee, internationalProtectionSought = false, fearsAuthoritiesOf = [], ...facts } = data;
  const protection = { internationalProtectionSought, fearsAuthoritiesOf: [...new Set(fearsAuthoritiesOf)].sort() };
  // The contact point it is addressed to coordinates: it must be one that may (routing rules).
  unmet.push(...addresseeUnmet({ ...facts, ...protection }, addressee));
  if (unmet.length > 0) throw new DomainError('invalid-notification', 'invalid', 'The notification is not consistent.', unmet);

  const { age, minor } = ageFacts(data);
  const notifiedAt = meta.now.toISOString();
  const notified: CaseNotifiedData = {
    ...facts,
    nationalContactPointIds: [addressee.id],
    addressedTo: addressee.id,
    ...protection,
    notifyingOrganisationId: meta.organisationId,
    notifyingOrganisationType: meta.organisationType,
    ageBand: age === null ? null : ageBandOf(age),
    minor,
    notifiedAt,
    acknowledgementDueAt: new Date(meta.now.getTime() + policy.acknowledgementDays * DAY_MS).toISOString(),
  };
  return [{ type: 'CaseNotified', data: notified, schemaVersion: CASE_NOTIFIED_SCHEMA_VERSION }];
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
