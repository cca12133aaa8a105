import type {
  AgeAssessmentMethod,
  CaseNotifiedData,
  ChildViews,
  ConsentGiver,
  CorrectableAttribute,
  CorrectionReason,
  CountryCode,
  ClosureReason,
  ConsentPurpose,
  DeciderBodyType,
  InformationItem,
  Money,
  OrganisationType,
  ParticipantPurpose,
  RiskFlagKind,
  ServiceType,
  VictimStatus,
} from '@trm/contracts';
import type { ContactPointRef } from './routing.js';

/** Time and identity arrive with the command so `decide` stays pure. */
export interface CommandMetadata {
  now: Date;
  actor: string;
  organisationId: string;
  /** null for the service's own consumers and scheduler, which act for no organisation type. */
  organisationType: OrganisationType | null;
}

/**
 * The facts of a notification. `addressee` is the contact point it goes to, as the registry
 * described it (named by `addressedTo`, or the default of `defaultAddresseeCountry`): the decider
 * checks it may coordinate, and records it as `addressedTo` and the only `nationalContactPointIds`.
 */
export type NotifyCaseData = Omit<
  CaseNotifiedData,
  | 'notifiedAt'
  | 'acknowledgementDueAt'
  | 'ageBand'
  | 'minor'
  | 'notifyingOrganisationId'
  | 'notifyingOrganisationType'
  | 'nationalContactPointIds'
  | 'addressedTo'
  | 'internationalProtectionSought'
  | 'fearsAuthoritiesOf'
  | 'minorBasis'
> & {
  addressee: ContactPointRef;
  /**
   * The child protection authority the routing policy names for this case (country and county),
   * read from the registry before the command; null or absent when no route applies (the
   * coordinating contact point then chooses). Used only when the case is a child's.
   */
  childProtection?: OrganisationRef | null;
  /** Default false. */
  internationalProtectionSought?: boolean;
  /** Default none. */
  fearsAuthoritiesOf?: CountryCode[];
};

export interface RegionalCentreRef {
  id: string;
  type: OrganisationType;
  parentOrgId: string | null;
  active: boolean;
}

/** A registered organisation as the registry described it just before the command (read outside the transaction). */
export interface OrganisationRef {
  id: string;
  type: OrganisationType;
  active: boolean;
  /** The registry's country and parent (a regional centre's contact point): routing rules read them for contact points. */
  country?: string;
  parentOrgId?: string | null;
}

type C<T extends string, D> = { type: T; data: D; metadata: CommandMetadata };

export type CaseCommand =
  | C<'NotifyCase', NotifyCaseData>
  | C<'AcknowledgeNotification', { keyContactId: string; alternateContactId: string; regionalCentre: RegionalCentreRef }>
  | C<'RequestInformation', { informationRequestId: string; requestedFrom: string; items: InformationItem[] }>
  | C<'ProvideInformation', { informationRequestId: string; items: InformationItem[]; birthYear?: number | null; childProtection?: OrganisationRef | null }>
  | C<'DetermineVictimStatus', { status: VictimStatus; deciderBodyType: DeciderBodyType; determinedOn: string }>
  | C<'GrantReflectionPeriod', { startsOn: string; days: number }>
  | C<'EndReflectionPeriod', { endedOn: string; reason: 'expired' | 'victim_decided' | 'status_determined' }>
  | C<'RecordConsent', { purpose: ConsentPurpose; sharingWith: string | null; givenOn: string; givenBy?: ConsentGiver; childViews?: ChildViews }>
  | C<'WithdrawConsent', { purpose: ConsentPurpose; sharingWith: string | null; withdrawnOn: string }>
  | C<'AddParticipant', { organisation: OrganisationRef; purpose: ParticipantPurpose }>
  | C<'RemoveParticipant', { organisationId: string; purpose: ParticipantPurpose }>
  | C<'MakeServiceReferral', { referralId: string; service: ServiceType; provider: OrganisationRef; emergency?: boolean }>
  | C<'RecordAssistanceNeeds', { returnId: string; services: ServiceType[]; referralIds: string[] }>
  | C<'AssignServiceReferral', { referralId: string; provider: OrganisationRef }>
  | C<'AcceptServiceReferral', { referralId: string }>
  | C<'DeclineServiceReferral', { referralId: string; reason: 'no_capacity' | 'not_eligible' | 'service_not_offered' | 'unreachable' | 'other' }>
  | C<'RecordAssistanceDelivered', { referralId: string; periodFrom: string; periodTo: string; cost: Money }>
  | C<'CloseServiceReferral', { referralId: string; reason: 'completed' | 'cancelled' }>
  | C<'RecordMonitoringContact', { contactedOn: string; channel: 'in_person' | 'phone' | 'video' | 'message'; wellbeing: 'stable' | 'concern' | 'crisis' }>
  | C<'RaiseRiskFlag', { kind: RiskFlagKind; level: 'low' | 'medium' | 'high' }>
  | C<'CloseCase', { reason: ClosureReason }>
  | C<'ReopenCase', { reason: 'new_needs' | 're_trafficking' | 'closed_in_error' | 'proceedings' }>
  | C<'ErasePersonalData', { reason: 'subject_request' | 'retention_expired' | 'unlawful_processing' }>
  | C<'RecordDeadlineMissed', { deadlineId: string }>
  | C<'AcknowledgeChildProtection', Record<string, never>>
  | C<'AssessAge', { method: AgeAssessmentMethod; assessedOn: string; result: 'child' | 'adult'; estimatedAge: number | null }>
  | C<
      'CorrectAttributes',
      {
        reason: CorrectionReason;
        /** New values of the attributes corrected (citizenship as the list of citizenships). */
        attributes: Partial<Record<CorrectableAttribute, unknown>>;
        /** Names of the personal-data items corrected in the vault (their values never reach the decider). */
        personalDataFields: InformationItem[];
        childProtection?: OrganisationRef | null;
      }
    >;
