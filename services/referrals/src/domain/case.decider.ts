import {
  type CaseNotifiedData,
  DomainError,
  type NotificationAcknowledgedData,
  type OrganisationType,
  type ReferralsEvent,
} from '@trm/contracts';
import type { Decider } from '@trm/event-store';

export interface ReferralsPolicy {
  /** Days the national contact point has to acknowledge a notification (DOMAIN: 2). */
  acknowledgementDays: number;
}

export const DEFAULT_REFERRALS_POLICY: ReferralsPolicy = { acknowledgementDays: 2 };

/** Time and identity arrive with the command so `decide` stays pure. */
export interface CommandMetadata {
  now: Date;
  actor: string;
  organisationId: string;
  organisationType: OrganisationType;
}

export type NotifyCaseData = Omit<
  CaseNotifiedData,
  'notifiedAt' | 'acknowledgementDueAt' | 'ageBand' | 'minor' | 'notifyingOrganisationId' | 'notifyingOrganisationType'
>;

export interface RegionalCentreRef {
  id: string;
  type: OrganisationType;
  parentOrgId: string | null;
  active: boolean;
}

export type CaseCommand =
  | { type: 'NotifyCase'; data: NotifyCaseData; metadata: CommandMetadata }
  | {
      type: 'AcknowledgeNotification';
      data: { keyContactId: string; alternateContactId: string; regionalCentre: RegionalCentreRef };
      metadata: CommandMetadata;
    }
;

export interface CaseState {
  status: 'none' | 'notified' | 'acknowledged';
  caseId: string | null;
  notifyingOrganisationId: string | null;
  nationalContactPointIds: string[];
  regionalCentreId: string | null;
  minor: boolean;
  acknowledgementDueAt: string | null;
}

export const initialCaseState = (): CaseState => ({
  status: 'none',
  caseId: null,
  notifyingOrganisationId: null,
  nationalContactPointIds: [],
  regionalCentreId: null,
  minor: false,
  acknowledgementDueAt: null,
});

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

/** Organisations that take part in the case and may see it (purposes come with issue 3). */
export function participantsOf(state: CaseState): string[] {
  const ids = new Set<string>(state.nationalContactPointIds);
  if (state.notifyingOrganisationId) ids.add(state.notifyingOrganisationId);
  if (state.regionalCentreId) ids.add(state.regionalCentreId);
  return [...ids];
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
        default: {
          const unknown: never = command;
          throw new Error(`Unknown command ${(unknown as { type: string }).type}`);
        }
      }
    },
  };
}

function requireCase(state: CaseState): void {
  if (state.status === 'none') throw new DomainError('case-not-found', 'not_found', 'No such case.');
}

function notify(data: NotifyCaseData, meta: CommandMetadata, state: CaseState, policy: ReferralsPolicy): ReferralsEvent[] {
  if (state.status !== 'none') throw new DomainError('case-already-exists', 'conflict', 'A case with this id already exists.');
  const unmet: string[] = [];
  const today = meta.now.toISOString().slice(0, 10);
  if (data.identificationDate > today) unmet.push('identification-date-in-future');
  if (data.ageAtIdentification === null && data.birthYear === null) unmet.push('age-or-birth-year-required');
  if (data.birthYear !== null && (data.birthYear > Number(data.identificationDate.slice(0, 4)) || data.birthYear < 1900)) {
    unmet.push('birth-year-out-of-range');
  }
  if (!data.returnWanted && data.plannedReturnDate !== null) unmet.push('planned-return-date-without-return-wanted');
  if (data.plannedReturnDate !== null && data.plannedReturnDate < data.identificationDate) unmet.push('planned-return-before-identification');
  if (data.nationalContactPointIds.length === 0) unmet.push('no-national-contact-point');
  if (unmet.length > 0) throw new DomainError('invalid-notification', 'invalid', 'The notification is not consistent.', unmet);

  const { age, minor } = ageFacts(data);
  const notifiedAt = meta.now.toISOString();
  return [
    {
      type: 'CaseNotified',
      data: {
        ...data,
        notifyingOrganisationId: meta.organisationId,
        notifyingOrganisationType: meta.organisationType,
        ageBand: age === null ? null : ageBandOf(age),
        minor,
        notifiedAt,
        acknowledgementDueAt: new Date(meta.now.getTime() + policy.acknowledgementDays * DAY_MS).toISOString(),
      },
    },
  ];
}

function acknowledge(
  data: Extract<CaseCommand, { type: 'AcknowledgeNotification' }>['data'],
  meta: CommandMetadata,
  state: CaseState,
): ReferralsEvent[] {
  requireCase(state);
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

export function evolve(state: CaseState, event: ReferralsEvent): CaseState {
  switch (event.type) {
    case 'CaseNotified':
      return {
        ...state,
        status: 'notified',
        caseId: event.data.caseId,
        notifyingOrganisationId: event.data.notifyingOrganisationId,
        nationalContactPointIds: event.data.nationalContactPointIds,
        minor: event.data.minor,
        acknowledgementDueAt: event.data.acknowledgementDueAt,
      };
    case 'NotificationAcknowledged':
      return { ...state, status: 'acknowledged', regionalCentreId: event.data.regionalCentreId };
    case 'ParticipantAdded':
    case 'ParticipantRemoved':
    case 'ConsentRecorded':
    case 'ConsentWithdrawn':
    case 'PersonalDataAccessed':
      return state;
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}
