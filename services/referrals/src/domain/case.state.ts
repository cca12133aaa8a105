import type {
  CaseNotifiedData,
  ConsentGiver,
  ConsentPurpose,
  CorrectableAttribute,
  MinorBasis,
  DeadlineKind,
  InformationItem,
  Money,
  OrganisationType,
  ParticipantPurpose,
  ReferralsEvent,
  ServiceType,
} from '@trm/contracts';
import { citizenshipsOf, minorBasisOf, upcastCaseNotified } from '@trm/contracts';
import type { EvolveEvent } from '@trm/event-store';
import { completenessOf } from './completeness.js';
import type { AgeFacts } from './minority.js';

type CaseNotifiedAgeBand = CaseNotifiedData['ageBand'];

export interface ReferralState {
  referralId: string;
  service: ServiceType;
  providerOrgId: string | null;
  /** The organisation that made the referral (it and the provider work together on it). */
  madeBy: string;
  status: 'made' | 'accepted' | 'declined' | 'closed';
  returnId: string | null;
  madeAt: string;
  declineReason: string | null;
  closeReason: string | null;
  deliveries: Array<{ periodFrom: string; periodTo: string; cost: Money }>;
}

export interface DeadlineState {
  kind: DeadlineKind;
  dueAt: string;
  /** Organisations that must act (acknowledgement: contact points; information: the one asked). */
  owners: string[];
  met: boolean;
  missed: boolean;
}

export interface InformationRequestState {
  informationRequestId: string;
  requestedFrom: string;
  items: InformationItem[];
  requestedAt: string;
  dueAt: string;
  providedItems: InformationItem[] | null;
  providedAt: string | null;
}

/**
 * The case aggregate. It holds enough for its own decisions and for the per-purpose views,
 * which fold the same stream (a case stream is short; its version is the ETag).
 */
export interface CaseState {
  status: 'none' | 'notified' | 'acknowledged';
  closed: boolean;
  closure: { reason: string; closedAt: string } | null;
  caseId: string | null;
  notifyingOrganisationId: string | null;
  notifyingOrganisationType: OrganisationType | null;
  /** The contact points that coordinate the case: the one it was addressed to (several only in cases notified before routing, CaseNotified v1). */
  nationalContactPointIds: string[];
  /** The contact point the notification was addressed to (null: notified before routing). */
  addressedTo: string | null;
  regionalCentreId: string | null;
  citizenship: string | null;
  /** The case records that the person seeks international protection: no further contact point joins. */
  internationalProtectionSought: boolean;
  /** Countries whose authorities the person fears: their contact points never take part. */
  fearsAuthoritiesOf: string[];
  minor: boolean;
  /** Why the case is a child's (null: not a child); see domain/minority.ts. */
  minorBasis: MinorBasis | null;
  /** Age band of the case (lower bound of the age the facts allow), as statistics count it. */
  ageBand: CaseNotifiedAgeBand;
  /** The last age assessment found an adult (an uncertain age no longer presumes a child). */
  assessedAdult: boolean;
  /** The non-personal age facts minority is computed from. */
  ageFacts: AgeFacts | null;
  /** The notification's correctable attributes as they stand (corrections applied). */
  attributes: Partial<Record<CorrectableAttribute, unknown>>;
  /** Every citizenship, the primary first. */
  citizenships: string[];
  notifiedAt: string | null;
  /** Child protection asked to join a child's case (null: never asked). */
  childProtectionRequest: { childProtectionOrgId: string | null; requestedAt: string; dueAt: string; acknowledgedBy: string | null } | null;
  acknowledgementDueAt: string | null;
  participants: Array<{ organisationId: string; purpose: ParticipantPurpose }>;
  /** Consents in force, keyed by `consentKey`. */
  consents: Record<string, { purpose: ConsentPurpose; sharingWith: string | null; givenOn: string; givenBy?: ConsentGiver; childViews?: string }>;
  presentItems: InformationItem[];
  /**
   * For each item in the vault, the organisations whose values it holds (the notifier's, an
   * answer's; an answer that replaced an item leaves only its author, one added to a list it could
   * not read joins the list's authors). An organisation reads on `collected_by_reader` only the
   * items that hold nothing but its own values.
   */
  collectedBy: Partial<Record<InformationItem, string[]>>;
  informationRequests: Record<string, InformationRequestState>;
  victimStatus: { status: string; deciderBodyType: string; determinedOn: string } | null;
  reflection: { periodNumber: number; startsOn: string; endsOn: string; days: number; endedOn: string | null; endReason: string | null } | null;
  referrals: Record<string, ReferralState>;
  monitoringContacts: Array<{ contactedOn: string; channel: string; wellbeing: string; recordedBy: string }>;
  riskFlags: Array<{ kind: string; level: string; raisedBy: string; raisedAt: string }>;
  /**
   * Level of the latest flag of each kind from each organisation since the case was last
   * (re)opened, keyed by `riskFlagKey`: an identical flag raised again coalesces into it.
   */
  openRiskFlags: Record<string, string>;
  deadlines: Record<string, DeadlineState>;
  erased: { erasedAt: string; reason: string } | null;
}

export const initialCaseState = (): CaseState => ({
  status: 'none',
  closed: false,
  closure: null,
  caseId: null,
  notifyingOrganisationId: null,
  notifyingOrganisationType: null,
  nationalContactPointIds: [],
  addressedTo: null,
  regionalCentreId: null,
  citizenship: null,
  internationalProtectionSought: false,
  fearsAuthoritiesOf: [],
  minor: false,
  minorBasis: null,
  ageBand: null,
  assessedAdult: false,
  ageFacts: null,
  attributes: {},
  citizenships: [],
  notifiedAt: null,
  childProtectionRequest: null,
  acknowledgementDueAt: null,
  participants: [],
  consents: {},
  presentItems: [],
  collectedBy: {},
  informationRequests: {},
  victimStatus: null,
  reflection: null,
  referrals: {},
  monitoringContacts: [],
  riskFlags: [],
  openRiskFlags: {},
  deadlines: {},
  erased: null,
});

export const riskFlagKey = (kind: string, raisedBy: string): string => `${kind}:${raisedBy}`;

export const consentKey = (purpose: ConsentPurpose, sharingWith: string | null): string => `${purpose}:${sharingWith ?? ''}`;

export const reflectionDeadlineId = (n: number): string => `reflection-period:${n}`;
export const informationDeadlineId = (id: string): string => `information-request:${id}`;
export const ACKNOWLEDGEMENT_DEADLINE_ID = 'acknowledgement';
export const CHILD_PROTECTION_DEADLINE_ID = 'child-protection';

/** The first instant after the last day of the period (dates are whole days, UTC). */
export function dayAfter(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00.000Z`) + 86_400_000).toISOString();
}

export function coordinatorsOf(state: CaseState): string[] {
  return [...state.nationalContactPointIds, ...(state.regionalCentreId ? [state.regionalCentreId] : [])];
}

function setDeadline(state: CaseState, id: string, patch: Partial<DeadlineState>): Record<string, DeadlineState> {
  const current = state.deadlines[id];
  if (!current) return state.deadlines;
  return { ...state.deadlines, [id]: { ...current, ...patch } };
}

function setReferral(state: CaseState, id: string, patch: Partial<ReferralState>): Record<string, ReferralState> {
  const current = state.referrals[id];
  if (!current) return state.referrals;
  return { ...state.referrals, [id]: { ...current, ...patch } };
}

/** An answer replaces the items it gives, except those it added to (lists it could not read). */
function collectedAfterAnswer(
  before: CaseState['collectedBy'],
  items: readonly InformationItem[],
  appended: readonly InformationItem[],
  by: string,
): CaseState['collectedBy'] {
  const after = { ...before };
  for (const item of items) after[item] = appended.includes(item) ? [...new Set([...(before[item] ?? []), by])].sort() : [by];
  return after;
}

export function evolve(state: CaseState, event: EvolveEvent<ReferralsEvent>): CaseState {
  switch (event.type) {
    case 'CaseNotified': {
      // Any schema version, read as version 2 (old events are never rewritten).
      const d = upcastCaseNotified(event.data, event.schemaVersion);
      const present = completenessOf(d.personalDataFields).present;
      return {
        ...state,
        status: 'notified',
        caseId: d.caseId,
        notifyingOrganisationId: d.notifyingOrganisationId,
        notifyingOrganisationType: d.notifyingOrganisationType,
        nationalContactPointIds: d.nationalContactPointIds,
        addressedTo: d.addressedTo,
        citizenship: d.citizenship,
        internationalProtectionSought: d.internationalProtectionSought,
        fearsAuthoritiesOf: d.fearsAuthoritiesOf,
        minor: d.minor,
        minorBasis: minorBasisOf(d),
        ageBand: d.ageBand,
        ageFacts: { ageAtIdentification: d.ageAtIdentification, ageApproximate: d.ageApproximate ?? false, birthYear: d.birthYear, identificationDate: d.identificationDate },
        attributes: {
          ageAtIdentification: d.ageAtIdentification,
          ageApproximate: d.ageApproximate ?? false,
          birthYear: d.birthYear,
          sex: d.sex,
          citizenship: citizenshipsOf(d),
          formsOfExploitation: d.formsOfExploitation,
          situation: d.situation,
          identifyingOrganisationType: d.identifyingOrganisationType ?? d.notifyingOrganisationType,
          countryOfIdentification: d.countryOfIdentification,
          countryOfExploitation: d.countryOfExploitation,
          identificationDate: d.identificationDate,
          traffickedAcrossBorders: d.traffickedAcrossBorders,
          recruiterRelation: d.recruiterRelation,
          county: d.county ?? null,
          returnWanted: d.returnWanted,
          plannedReturnDate: d.plannedReturnDate,
        },
        citizenships: citizenshipsOf(d),
        notifiedAt: d.notifiedAt,
        acknowledgementDueAt: d.acknowledgementDueAt,
        participants: [
          { organisationId: d.notifyingOrganisationId, purpose: 'notifier' },
          ...d.nationalContactPointIds.map((id) => ({ organisationId: id, purpose: 'national_contact_point' as const })),
        ],
        presentItems: present,
        collectedBy: Object.fromEntries(present.map((item) => [item, [d.notifyingOrganisationId]])),
        deadlines: {
          [ACKNOWLEDGEMENT_DEADLINE_ID]: { kind: 'acknowledgement', dueAt: d.acknowledgementDueAt, owners: d.nationalContactPointIds, met: false, missed: false },
        },
      };
    }
    case 'NotificationAcknowledged':
      return {
        ...state,
        status: 'acknowledged',
        regionalCentreId: event.data.regionalCentreId,
        participants: [...state.participants, { organisationId: event.data.regionalCentreId, purpose: 'regional_centre' }],
        deadlines: setDeadline(state, ACKNOWLEDGEMENT_DEADLINE_ID, { met: true }),
      };
    case 'ParticipantAdded': {
      const participants = [...state.participants, { organisationId: event.data.organisationId, purpose: event.data.purpose }];
      // Child protection chosen by the contact point owns the open deadline to join.
      const cp = state.deadlines[CHILD_PROTECTION_DEADLINE_ID];
      if (event.data.purpose === 'child_protection' && cp && !cp.met && !cp.owners.includes(event.data.organisationId)) {
        return { ...state, participants, deadlines: setDeadline(state, CHILD_PROTECTION_DEADLINE_ID, { owners: [...cp.owners, event.data.organisationId] }) };
      }
      return { ...state, participants };
    }
    case 'ChildProtectionRequested': {
      const d = event.data;
      return {
        ...state,
        childProtectionRequest: { childProtectionOrgId: d.childProtectionOrgId, requestedAt: d.requestedAt, dueAt: d.dueAt, acknowledgedBy: null },
        deadlines: {
          ...state.deadlines,
          [CHILD_PROTECTION_DEADLINE_ID]: {
            kind: 'child_protection',
            dueAt: d.dueAt,
            owners: d.childProtectionOrgId ? [d.childProtectionOrgId] : coordinatorsOf(state),
            met: false,
            missed: false,
          },
        },
      };
    }
    case 'ChildProtectionAcknowledged':
      return {
        ...state,
        childProtectionRequest: state.childProtectionRequest ? { ...state.childProtectionRequest, acknowledgedBy: event.data.acknowledgedBy } : null,
        deadlines: setDeadline(state, CHILD_PROTECTION_DEADLINE_ID, { met: true }),
      };
    case 'AgeAssessed':
      return {
        ...state,
        minor: event.data.minor,
        minorBasis: event.data.minor ? 'assessed' : null,
        assessedAdult: !event.data.minor,
        ageBand: event.data.ageBand ?? state.ageBand,
      };
    case 'AttributesCorrected': {
      const d = event.data;
      const attributes = { ...state.attributes };
      for (const c of d.changes) attributes[c.attribute] = c.to;
      const ageFacts: AgeFacts | null = state.ageFacts && {
        ageAtIdentification: (attributes.ageAtIdentification as number | null | undefined) ?? null,
        ageApproximate: Boolean(attributes.ageApproximate),
        birthYear: (attributes.birthYear as number | null | undefined) ?? null,
        identificationDate: String(attributes.identificationDate ?? state.ageFacts.identificationDate),
      };
      const citizenships = Array.isArray(attributes.citizenship) ? (attributes.citizenship as string[]) : state.citizenships;
      return {
        ...state,
        attributes,
        ageFacts,
        citizenships,
        citizenship: citizenships[0] ?? state.citizenship,
        minor: d.minor,
        minorBasis: d.minorBasis,
        ageBand: d.ageBand,
        assessedAdult: state.assessedAdult && !d.minor,
        presentItems: [...new Set([...state.presentItems, ...d.personalDataFields])].sort(),
        collectedBy: collectedAfterAnswer(state.collectedBy, d.personalDataFields, [], d.correctedBy),
      };
    }
    case 'ParticipantRemoved': {
      const { organisationId, purpose } = event.data;
      const participants = state.participants.filter((p) => !(p.organisationId === organisationId && p.purpose === purpose));
      // Removal removes: an organisation that no longer takes part owes no deadline of the case.
      if (participants.some((p) => p.organisationId === organisationId)) return { ...state, participants };
      const deadlines = Object.fromEntries(
        Object.entries(state.deadlines).map(([id, d]) => [id, d.owners.includes(organisationId) ? { ...d, owners: d.owners.filter((o) => o !== organisationId) } : d]),
      );
      return { ...state, participants, deadlines };
    }
    case 'ConsentRecorded': {
      const d = event.data;
      const who = { ...(d.givenBy ? { givenBy: d.givenBy } : {}), ...(d.childViews ? { childViews: d.childViews } : {}) };
      return { ...state, consents: { ...state.consents, [consentKey(d.purpose, d.sharingWith)]: { purpose: d.purpose, sharingWith: d.sharingWith, givenOn: d.givenOn, ...who } } };
    }
    case 'ConsentWithdrawn': {
      const consents = { ...state.consents };
      delete consents[consentKey(event.data.purpose, event.data.sharingWith)];
      return { ...state, consents };
    }
    case 'PersonalDataAccessed':
      return state;
    case 'InformationRequested': {
      const d = event.data;
      return {
        ...state,
        informationRequests: {
          ...state.informationRequests,
          [d.informationRequestId]: {
            informationRequestId: d.informationRequestId,
            requestedFrom: d.requestedFrom,
            items: d.items,
            requestedAt: d.requestedAt,
            dueAt: d.dueAt,
            providedItems: null,
            providedAt: null,
          },
        },
        deadlines: {
          ...state.deadlines,
          [informationDeadlineId(d.informationRequestId)]: { kind: 'information_request', dueAt: d.dueAt, owners: [d.requestedFrom], met: false, missed: false },
        },
      };
    }
    case 'InformationProvided': {
      const d = event.data;
      const req = state.informationRequests[d.informationRequestId];
      return {
        ...state,
        presentItems: [...new Set([...state.presentItems, ...d.items])].sort(),
        collectedBy: collectedAfterAnswer(state.collectedBy, d.items, d.appendedItems ?? [], d.providedBy),
        informationRequests: req
          ? { ...state.informationRequests, [d.informationRequestId]: { ...req, providedItems: d.items, providedAt: d.providedAt } }
          : state.informationRequests,
        deadlines: setDeadline(state, informationDeadlineId(d.informationRequestId), { met: true }),
        ...(d.birthYear !== undefined && state.ageFacts ? { ageFacts: { ...state.ageFacts, birthYear: d.birthYear }, attributes: { ...state.attributes, birthYear: d.birthYear } } : {}),
        ...(d.minor !== undefined ? { minor: d.minor, minorBasis: d.minorBasis ?? null, assessedAdult: state.assessedAdult && !d.minor, ageBand: d.ageBand ?? state.ageBand } : {}),
      };
    }
    case 'VictimStatusDetermined':
      return { ...state, victimStatus: { status: event.data.status, deciderBodyType: event.data.deciderBodyType, determinedOn: event.data.determinedOn } };
    case 'ReflectionPeriodGranted': {
      const d = event.data;
      return {
        ...state,
        reflection: { periodNumber: d.periodNumber, startsOn: d.startsOn, endsOn: d.endsOn, days: d.days, endedOn: null, endReason: null },
        deadlines: {
          ...state.deadlines,
          [reflectionDeadlineId(d.periodNumber)]: { kind: 'reflection_period', dueAt: dayAfter(d.endsOn), owners: coordinatorsOf(state), met: false, missed: false },
        },
      };
    }
    case 'ReflectionPeriodEnded':
      return {
        ...state,
        reflection: state.reflection ? { ...state.reflection, endedOn: event.data.endedOn, endReason: event.data.reason } : null,
        deadlines: setDeadline(state, reflectionDeadlineId(event.data.periodNumber), { met: true }),
      };
    case 'ServiceReferralMade': {
      const d = event.data;
      return {
        ...state,
        referrals: {
          ...state.referrals,
          [d.referralId]: {
            referralId: d.referralId,
            service: d.service,
            providerOrgId: d.providerOrgId,
            madeBy: d.madeBy,
            status: 'made',
            returnId: d.returnId,
            madeAt: d.madeAt,
            declineReason: null,
            closeReason: null,
            deliveries: [],
          },
        },
      };
    }
    case 'ServiceReferralAssigned':
      return { ...state, referrals: setReferral(state, event.data.referralId, { providerOrgId: event.data.providerOrgId }) };
    case 'ServiceReferralAccepted':
      return { ...state, referrals: setReferral(state, event.data.referralId, { status: 'accepted' }) };
    case 'ServiceReferralDeclined':
      return { ...state, referrals: setReferral(state, event.data.referralId, { status: 'declined', declineReason: event.data.reason }) };
    case 'AssistanceDelivered': {
      const r = state.referrals[event.data.referralId];
      const d = event.data;
      return {
        ...state,
        referrals: setReferral(state, d.referralId, { deliveries: [...(r?.deliveries ?? []), { periodFrom: d.periodFrom, periodTo: d.periodTo, cost: d.cost }] }),
      };
    }
    case 'ServiceReferralClosed':
      return { ...state, referrals: setReferral(state, event.data.referralId, { status: 'closed', closeReason: event.data.reason }) };
    case 'MonitoringContactRecorded': {
      const d = event.data;
      return { ...state, monitoringContacts: [...state.monitoringContacts, { contactedOn: d.contactedOn, channel: d.channel, wellbeing: d.wellbeing, recordedBy: d.recordedBy }] };
    }
    case 'RiskFlagRaised': {
      const d = event.data;
      return {
        ...state,
        riskFlags: [...state.riskFlags, { kind: d.kind, level: d.level, raisedBy: d.raisedBy, raisedAt: d.raisedAt }],
        openRiskFlags: { ...state.openRiskFlags, [riskFlagKey(d.kind, d.raisedBy)]: d.level },
      };
    }
    case 'CaseClosed':
      return { ...state, closed: true, closure: { reason: event.data.reason, closedAt: event.data.closedAt }, openRiskFlags: {} };
    case 'CaseReopened':
      return { ...state, closed: false, closure: null, openRiskFlags: {} };
    case 'PersonalDataErased':
      return { ...state, erased: { erasedAt: event.data.erasedAt, reason: event.data.reason }, presentItems: [], collectedBy: {} };
    case 'DeadlineMissed':
      return { ...state, deadlines: setDeadline(state, event.data.deadlineId, { missed: true }) };
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}
