import { z } from 'zod';
import {
  Citizenship,
  ClosureReason,
  ConsentPurpose,
  CountryCode,
  DeciderBodyType,
  ExploitationForm,
  IsoDate,
  OrganisationType,
  Money,
  RecruiterRelation,
  ReferralSituation,
  RiskFlagKind,
  ServiceType,
  Sex,
  VictimStatus,
} from './values.js';

/**
 * Events of the referrals service (the case file at the national contact point). They carry a
 * pseudonymous case id and only the non-identifying attributes statistics need; names, birth
 * dates, contacts, documents, narrative and health stay in the referrals vault.
 */

const AgeBandValue = z.enum(['0-13', '14-17', '18-25', '26-35', '36+']);

/** `CaseNotified` as schema version 1 recorded it (before routing): read through `upcastCaseNotified`. */
export const CaseNotifiedDataV1 = z.object({
  caseId: z.string(),
  situation: ReferralSituation,
  notifyingOrganisationId: z.string(),
  notifyingOrganisationType: OrganisationType,
  countryOfIdentification: CountryCode,
  countryOfExploitation: CountryCode,
  identificationDate: IsoDate,
  formsOfExploitation: z.array(ExploitationForm).min(1),
  sex: Sex,
  /** Age at identification when known; otherwise derived from birth year (lower bound). */
  ageAtIdentification: z.number().int().min(0).max(120).nullable(),
  birthYear: z.number().int().nullable(),
  ageBand: AgeBandValue.nullable(),
  /** Under 18 at identification, or possibly so when only the birth year is known. */
  minor: z.boolean(),
  citizenship: CountryCode,
  traffickedAcrossBorders: z.boolean(),
  recruiterRelation: RecruiterRelation,
  returnWanted: z.boolean(),
  plannedReturnDate: IsoDate.nullable(),
  /**
   * Central national contact points that coordinate the case. From version 2 exactly one: the
   * contact point the notification is addressed to (`addressedTo`). Version 1 events may name
   * several (the contact points of the citizenship and of the country of identification).
   */
  nationalContactPointIds: z.array(z.string()).min(1),
  /** Names (not values) of the personal-data fields kept in the vault for this case. */
  personalDataFields: z.array(z.string()),
  notifiedAt: z.string(),
  acknowledgementDueAt: z.string(),
});
export type CaseNotifiedDataV1 = z.infer<typeof CaseNotifiedDataV1>;

/**
 * Version 2 (routing): the notification names the contact point it is addressed to, which alone
 * coordinates the case, and records what keeps the authorities of a country away from it. Any
 * further contact point (notably the one of a foreign victim's own country) joins only with the
 * victim's consent to share with it (`ParticipantAdded`, purpose `national_contact_point`), never
 * while international protection is sought, never one of a country the victim fears. Later issues
 * extend this version; old events are read through `upcastCaseNotified`, never rewritten.
 */
/**
 * Why a case is a child's (CETS 197 Art. 10(3), issue 17): `declared` the facts given say the
 * person is under 18; `presumed` age unknown or uncertain (no age and no birth year, an age given
 * as approximate, a birth year whose lower bound is under 18, facts that disagree), so the person
 * is treated as a child until an age assessment; `assessed` child protection's `AgeAssessed`.
 */
export const MinorBasis = z.enum(['presumed', 'declared', 'assessed']);
export type MinorBasis = z.infer<typeof MinorBasis>;

/**
 * Fields issue 17 (children, who can be notified) adds to version 2, all optional (events
 * recorded before read as: citizenships = [citizenship], exact age, basis from `minor`).
 */
const CaseNotifiedV2Additions = {
  /** First (primary) citizenship: ISO 3166-1 alpha-2, `XK`, `stateless` or `unknown` (version 1: a country only). */
  citizenship: Citizenship,
  /** Every citizenship, the primary first (RO + MD is common). Absent: only `citizenship`. */
  citizenships: z.array(Citizenship).min(1).optional(),
  /** The age was given as approximate: uncertain, so the person is presumed a child. Absent: false. */
  ageApproximate: z.boolean().optional(),
  /** Why `minor` is true (null when it is false). Absent: `declared` when minor. */
  minorBasis: MinorBasis.nullable().optional(),
  /** ISO 3166-2 subdivision (county) where the person is, without the country prefix (`B`, `CJ`): routes child protection. */
  county: z.string().regex(/^[A-Z0-9]{1,3}$/).optional(),
  /** Type of the organisation that identified the person, when a correction recorded it apart from the notifier. Absent: the notifier's type. */
  identifyingOrganisationType: OrganisationType.optional(),
};

export const CaseNotifiedData = CaseNotifiedDataV1.extend({
  /** The central national contact point the notification is addressed to: it coordinates. Null only in events recorded as version 1. */
  addressedTo: z.string().nullable(),
  /** The person seeks international protection (asylum, subsidiary protection). */
  internationalProtectionSought: z.boolean(),
  /** Countries whose authorities the person fears: their contact points never take part. */
  fearsAuthoritiesOf: z.array(CountryCode),
  ...CaseNotifiedV2Additions,
});
export type CaseNotifiedData = z.infer<typeof CaseNotifiedData>;
export const CASE_NOTIFIED_SCHEMA_VERSION = 2;

/** What a version 1 event did not record, as version 2 reads it: addressed to no single contact point (every one in `nationalContactPointIds` coordinates), nothing recorded about protection. */
const CASE_NOTIFIED_V1_DEFAULTS = { addressedTo: null, internationalProtectionSought: false, fearsAuthoritiesOf: [] as CountryCode[] };

/**
 * A `CaseNotified` of any version, for readers that do not know the event's schema version (a
 * zod schema: version 1 data gets the version 2 defaults). Prefer `upcastCaseNotified` with the
 * recorded version.
 */
export const CaseNotifiedAnyVersion = CaseNotifiedDataV1.extend({
  addressedTo: z.string().nullable().default(CASE_NOTIFIED_V1_DEFAULTS.addressedTo),
  internationalProtectionSought: z.boolean().default(CASE_NOTIFIED_V1_DEFAULTS.internationalProtectionSought),
  fearsAuthoritiesOf: z.array(CountryCode).default(() => []),
  ...CaseNotifiedV2Additions,
});

/** Every citizenship of a notification of any version (the primary first). */
export function citizenshipsOf(d: { citizenship: string; citizenships?: readonly string[] | undefined }): string[] {
  return d.citizenships && d.citizenships.length > 0 ? [...d.citizenships] : [d.citizenship];
}

/** Why a notification of any version made the case a child's (null: not a child). */
export function minorBasisOf(d: { minor: boolean; minorBasis?: MinorBasis | null | undefined }): MinorBasis | null {
  if (!d.minor) return null;
  return d.minorBasis ?? 'declared';
}

/**
 * A stored `CaseNotified` as version 2: version 1 data with the defaults above, version 2 as it
 * is (its new fields required). Without a version (a plain `{ type, data }` in a test, a reader
 * that does not carry it) the data decides. Throws when the data does not parse.
 */
export function upcastCaseNotified(data: unknown, schemaVersion?: number): CaseNotifiedData {
  if (schemaVersion === undefined) return CaseNotifiedAnyVersion.parse(data);
  if (schemaVersion <= 1) return { ...CaseNotifiedDataV1.parse(data), ...CASE_NOTIFIED_V1_DEFAULTS, fearsAuthoritiesOf: [] };
  return CaseNotifiedData.parse(data);
}

export const NotificationAcknowledgedData = z.object({
  caseId: z.string(),
  acknowledgedBy: z.string(),
  /** User ids (token subjects) of the key contact and the alternate at the contact point. */
  keyContactId: z.string(),
  alternateContactId: z.string(),
  regionalCentreId: z.string(),
  acknowledgedAt: z.string(),
  /** Late by the acknowledgement policy (2 days by default). */
  late: z.boolean(),
});
export type NotificationAcknowledgedData = z.infer<typeof NotificationAcknowledgedData>;

/**
 * Why an organisation takes part in a case; each purpose sees only the fields it needs.
 * `notifier`, `national_contact_point` and `regional_centre` are implied by CaseNotified and
 * NotificationAcknowledged; the others arrive with ParticipantAdded.
 */
export const ParticipantPurpose = z.enum([
  'notifier',
  'national_contact_point',
  'regional_centre',
  'travel_documents',
  'service_provision',
  'child_protection',
  'return',
  'proceedings_support',
  'law_enforcement',
]);
export type ParticipantPurpose = z.infer<typeof ParticipantPurpose>;

export const ParticipantAddedData = z.object({
  caseId: z.string(),
  organisationId: z.string(),
  organisationType: OrganisationType,
  purpose: ParticipantPurpose,
});
export type ParticipantAddedData = z.infer<typeof ParticipantAddedData>;

export const ParticipantRemovedData = z.object({
  caseId: z.string(),
  organisationId: z.string(),
  purpose: ParticipantPurpose,
});
export type ParticipantRemovedData = z.infer<typeof ParticipantRemovedData>;

export const ConsentGiver = z.enum(['person', 'guardian', 'parent']);
export type ConsentGiver = z.infer<typeof ConsentGiver>;
export const ChildViews = z.enum(['agrees', 'disagrees', 'mixed', 'unable_to_express']);
export type ChildViews = z.infer<typeof ChildViews>;

/**
 * Informed consent, per purpose. `sharing` names the organisation the data may be shared with
 * (`sharingWith`); the other purposes leave it null. Notification never implies consent to
 * cooperate with law enforcement (that is `proceedings`).
 */
export const ConsentRecordedData = z.object({
  caseId: z.string(),
  purpose: ConsentPurpose,
  sharingWith: z.string().nullable(),
  /** Date the person gave consent (YYYY-MM-DD). */
  givenOn: IsoDate,
  recordedBy: z.string(),
  /**
   * Who gave it (issue 17): for a child the appointed guardian (CETS 197 Art. 10(4)), or a parent
   * only when no family involvement in the trafficking is recorded. Absent: the person.
   */
  givenBy: ConsentGiver.optional(),
  /** For a child: the child's views, recorded (a category, never their words). */
  childViews: ChildViews.optional(),
});
export type ConsentRecordedData = z.infer<typeof ConsentRecordedData>;

export const ConsentWithdrawnData = z.object({
  caseId: z.string(),
  purpose: ConsentPurpose,
  sharingWith: z.string().nullable(),
  withdrawnOn: IsoDate,
  recordedBy: z.string(),
});
export type ConsentWithdrawnData = z.infer<typeof ConsentWithdrawnData>;

/**
 * The legal basis of a read of personal data, decided by referrals from the case stream (never
 * declared by the caller): `collected_by_reader` the reader put that field in the file itself
 * (notification, answers) and nobody else's values are in it; `consent` the person consented to
 * share with the reader, for what its purpose needs; `statutory_coordination` the reader is the
 * contact point coordinating the case (or its regional centre), for what coordination needs;
 * `statutory_child_protection` the reader is child protection on a child's case.
 */
export const LegalBasis = z.enum(['collected_by_reader', 'consent', 'statutory_coordination', 'statutory_child_protection']);
export type LegalBasis = z.infer<typeof LegalBasis>;

/**
 * Reads of personal data. Schema version 2 counts them: repeated reads by the same actor of the
 * same fields for the same purpose on the same bases within the policy window
 * (TRM_ACCESS_COALESCE_SECONDS) are recorded as one event: the first read at once (`count` 1),
 * the repeats that followed it in the window as one later event with their `count` and the time
 * of the first and last of them. The sum of `count` over a case's events is the number of reads.
 * Schema version 3 names the legal basis of every field read (`legalBases`) and the fields
 * withheld for want of one (`withheldFields`, names only). Older events are upcast on read:
 * count 1, first and last read when recorded, no basis recorded (empty lists).
 */
export const PersonalDataAccessedData = z.object({
  caseId: z.string(),
  organisationId: z.string(),
  purpose: z.string(),
  fields: z.array(z.string()),
  count: z.number().int().positive().optional(),
  firstReadAt: z.string().optional(),
  lastReadAt: z.string().optional(),
  /** Version 3: each basis with the fields read on it (every field of `fields` exactly once). */
  legalBases: z.array(z.object({ basis: LegalBasis, fields: z.array(z.string()) })).optional(),
  /** Version 3: fields in the file the reader has no basis for, not returned (names, never values). */
  withheldFields: z.array(z.string()).optional(),
});
export type PersonalDataAccessedData = z.infer<typeof PersonalDataAccessedData>;
export const PERSONAL_DATA_ACCESSED_SCHEMA_VERSION = 3;

/** A `PersonalDataAccessed` of any schema version as version 3 (old events are never rewritten). */
export function upcastPersonalDataAccessed(data: unknown, recordedAt: string): Required<PersonalDataAccessedData> {
  const d = PersonalDataAccessedData.parse(data);
  return {
    ...d,
    count: d.count ?? 1,
    firstReadAt: d.firstReadAt ?? recordedAt,
    lastReadAt: d.lastReadAt ?? d.firstReadAt ?? recordedAt,
    legalBases: d.legalBases ?? [],
    withheldFields: d.withheldFields ?? [],
  };
}

/**
 * Names (never values) of the personal-data items a case file may hold in the vault. Requests
 * for information and the completeness score speak in these names.
 */
export const InformationItem = z.enum([
  'givenName',
  'familyName',
  'otherNames',
  'birthDate',
  'birthPlace',
  'contacts',
  'documents',
  'narrative',
  'health',
]);
export type InformationItem = z.infer<typeof InformationItem>;

export const InformationRequestedData = z.object({
  caseId: z.string(),
  informationRequestId: z.string(),
  requestedBy: z.string(),
  /** Organisation asked to provide the items (usually the notifier). */
  requestedFrom: z.string(),
  items: z.array(InformationItem).min(1),
  requestedAt: z.string(),
  /** Policy: 7 days after the request. */
  dueAt: z.string(),
});
export type InformationRequestedData = z.infer<typeof InformationRequestedData>;

export const InformationProvidedData = z.object({
  caseId: z.string(),
  informationRequestId: z.string(),
  providedBy: z.string(),
  /** Names of the items now in the vault thanks to this answer. */
  items: z.array(InformationItem),
  /**
   * Items already in the file that the answering organisation may not read: its values were
   * added to them (documents, other names), never written over them. Absent: none (and in
   * events recorded before the rule).
   */
  appendedItems: z.array(InformationItem).optional(),
  /** Required items still missing after this answer (derived). */
  missingItems: z.array(InformationItem),
  /** Share of required items present, 0–100 (derived). */
  completenessScore: z.number().int().min(0).max(100),
  providedAt: z.string(),
  /** The year of a birth date given in this answer (a non-personal attribute, as in `CaseNotified`). */
  birthYear: z.number().int().optional(),
  /** Set when this answer changed the case's minority (it can make the person a child, never an adult). */
  minor: z.boolean().optional(),
  minorBasis: MinorBasis.nullable().optional(),
  ageBand: AgeBandValue.nullable().optional(),
});
export type InformationProvidedData = z.infer<typeof InformationProvidedData>;

export const VictimStatusDeterminedData = z.object({
  caseId: z.string(),
  status: VictimStatus,
  deciderBodyType: DeciderBodyType,
  determinedOn: IsoDate,
  recordedBy: z.string(),
});
export type VictimStatusDeterminedData = z.infer<typeof VictimStatusDeterminedData>;

export const ReflectionPeriodGrantedData = z.object({
  caseId: z.string(),
  /** 1 for the first period of the case, then 2, … */
  periodNumber: z.number().int().positive(),
  startsOn: IsoDate,
  /** Last day of the period (inclusive). */
  endsOn: IsoDate,
  days: z.number().int().positive(),
  grantedBy: z.string(),
});
export type ReflectionPeriodGrantedData = z.infer<typeof ReflectionPeriodGrantedData>;

export const ReflectionPeriodEndReason = z.enum(['expired', 'victim_decided', 'status_determined', 'case_closed']);
export const ReflectionPeriodEndedData = z.object({
  caseId: z.string(),
  periodNumber: z.number().int().positive(),
  endedOn: IsoDate,
  reason: ReflectionPeriodEndReason,
  recordedBy: z.string(),
});
export type ReflectionPeriodEndedData = z.infer<typeof ReflectionPeriodEndedData>;

/**
 * A service referral is part of the case aggregate (stream `case-<caseId>`): its gates (consent,
 * child protection, closed case) are case facts and a consent withdrawal must close it in the
 * same decision. `providerOrgId` is null for a need recorded from a hand-over until the national
 * contact point assigns a provider.
 */
export const ServiceReferralMadeData = z.object({
  caseId: z.string(),
  referralId: z.string(),
  service: ServiceType,
  providerOrgId: z.string().nullable(),
  madeBy: z.string(),
  /** Return whose hand-over to assistance created this referral, when it came from repatriation. */
  returnId: z.string().nullable(),
  madeAt: z.string(),
  /** Emergency assistance for a child (shelter, medical) referred by child protection before any consent (issue 17). Absent: false. */
  emergency: z.boolean().optional(),
});
export type ServiceReferralMadeData = z.infer<typeof ServiceReferralMadeData>;

export const ServiceReferralAssignedData = z.object({
  caseId: z.string(),
  referralId: z.string(),
  providerOrgId: z.string(),
  assignedBy: z.string(),
});
export type ServiceReferralAssignedData = z.infer<typeof ServiceReferralAssignedData>;

export const ServiceReferralAcceptedData = z.object({ caseId: z.string(), referralId: z.string(), acceptedBy: z.string() });
export const ServiceReferralDeclineReason = z.enum(['no_capacity', 'not_eligible', 'service_not_offered', 'unreachable', 'other']);
export const ServiceReferralDeclinedData = z.object({
  caseId: z.string(),
  referralId: z.string(),
  declinedBy: z.string(),
  reason: ServiceReferralDeclineReason,
});

export const AssistanceDeliveredData = z.object({
  caseId: z.string(),
  referralId: z.string(),
  service: ServiceType,
  deliveredBy: z.string(),
  periodFrom: IsoDate,
  periodTo: IsoDate,
  cost: Money,
});
export type AssistanceDeliveredData = z.infer<typeof AssistanceDeliveredData>;

export const ServiceReferralCloseReason = z.enum(['completed', 'cancelled', 'consent_withdrawn', 'case_closed']);
export const ServiceReferralClosedData = z.object({
  caseId: z.string(),
  referralId: z.string(),
  reason: ServiceReferralCloseReason,
  closedBy: z.string(),
});

export const MonitoringChannel = z.enum(['in_person', 'phone', 'video', 'message']);
export const Wellbeing = z.enum(['stable', 'concern', 'crisis']);
export const MonitoringContactRecordedData = z.object({
  caseId: z.string(),
  contactedOn: IsoDate,
  channel: MonitoringChannel,
  wellbeing: Wellbeing,
  recordedBy: z.string(),
});

export const RiskFlagLevel = z.enum(['low', 'medium', 'high']);
export const RiskFlagRaisedData = z.object({
  caseId: z.string(),
  kind: RiskFlagKind,
  level: RiskFlagLevel,
  raisedBy: z.string(),
  raisedAt: z.string(),
});

export const CaseClosedData = z.object({ caseId: z.string(), reason: ClosureReason, closedBy: z.string(), closedAt: z.string() });
export const CaseReopenReason = z.enum(['new_needs', 're_trafficking', 'closed_in_error', 'proceedings']);
export const CaseReopenedData = z.object({ caseId: z.string(), reason: CaseReopenReason, reopenedBy: z.string(), reopenedAt: z.string() });

export const ErasureReason = z.enum(['subject_request', 'retention_expired', 'unlawful_processing']);
export const PersonalDataErasedData = z.object({ caseId: z.string(), reason: ErasureReason, erasedBy: z.string(), erasedAt: z.string() });

export const DeadlineKind = z.enum(['acknowledgement', 'information_request', 'reflection_period', 'child_protection']);
export type DeadlineKind = z.infer<typeof DeadlineKind>;
/** Recorded once per deadline (the id is deterministic), whatever the number of schedulers. */
export const DeadlineMissedData = z.object({
  caseId: z.string(),
  deadlineId: z.string(),
  kind: DeadlineKind,
  dueAt: z.string(),
  detectedAt: z.string(),
});

/**
 * Child protection must join a child's case at once (issue 17): recorded when a case is or
 * becomes a child's, with the authority routed by policy (country and county) or null when no
 * route applies (the coordinating contact point chooses, and owns the deadline until then).
 * Due within policy 24 h; met by `ChildProtectionAcknowledged`.
 */
export const ChildProtectionRequestedData = z.object({
  caseId: z.string(),
  childProtectionOrgId: z.string().nullable(),
  trigger: z.enum(['notification', 'information', 'correction']),
  requestedAt: z.string(),
  dueAt: z.string(),
});
export type ChildProtectionRequestedData = z.infer<typeof ChildProtectionRequestedData>;

export const ChildProtectionAcknowledgedData = z.object({
  caseId: z.string(),
  acknowledgedBy: z.string(),
  acknowledgedAt: z.string(),
  late: z.boolean(),
});
export type ChildProtectionAcknowledgedData = z.infer<typeof ChildProtectionAcknowledgedData>;

export const AgeAssessmentMethod = z.enum(['documents', 'interview', 'medical_examination', 'multidisciplinary']);
export type AgeAssessmentMethod = z.infer<typeof AgeAssessmentMethod>;
/**
 * Child protection's age assessment: the only way out of presumed minority (CETS 197 Art. 10(3)).
 * `result` child or adult; `estimatedAge` the assessed age when given. No personal data.
 */
export const AgeAssessedData = z.object({
  caseId: z.string(),
  assessedBy: z.string(),
  method: AgeAssessmentMethod,
  assessedOn: IsoDate,
  result: z.enum(['child', 'adult']),
  estimatedAge: z.number().int().min(0).max(120).nullable(),
  ageBand: AgeBandValue.nullable(),
  minor: z.boolean(),
});
export type AgeAssessedData = z.infer<typeof AgeAssessedData>;

/** Attributes of a notification that a correction may change (non-personal; personal data is corrected in the vault). */
export const CorrectableAttribute = z.enum([
  'ageAtIdentification',
  'ageApproximate',
  'birthYear',
  'sex',
  'citizenship',
  'formsOfExploitation',
  'situation',
  'identifyingOrganisationType',
  'countryOfIdentification',
  'countryOfExploitation',
  'identificationDate',
  'traffickedAcrossBorders',
  'recruiterRelation',
  'county',
  'returnWanted',
  'plannedReturnDate',
]);
export type CorrectableAttribute = z.infer<typeof CorrectableAttribute>;
export const CorrectionReason = z.enum(['data_entry_error', 'new_information', 'document_verified', 'rectification_requested', 'other']);
export type CorrectionReason = z.infer<typeof CorrectionReason>;

/**
 * A correction of the notification (issue 18): the old and new value of each non-personal
 * attribute, and only the names of personal-data items corrected in the vault. `minor`,
 * `minorBasis` and `ageBand` are the case's after it (a correction can make the person a child,
 * never an adult).
 */
export const AttributesCorrectedData = z.object({
  caseId: z.string(),
  correctedBy: z.string(),
  reason: CorrectionReason,
  changes: z.array(z.object({ attribute: CorrectableAttribute, from: z.unknown(), to: z.unknown() })),
  personalDataFields: z.array(InformationItem),
  minor: z.boolean(),
  minorBasis: MinorBasis.nullable(),
  ageBand: AgeBandValue.nullable(),
  correctedAt: z.string(),
});
export type AttributesCorrectedData = z.infer<typeof AttributesCorrectedData>;

export const ReferralsEventSchemas = {
  CaseNotified: CaseNotifiedData,
  NotificationAcknowledged: NotificationAcknowledgedData,
  ParticipantAdded: ParticipantAddedData,
  ParticipantRemoved: ParticipantRemovedData,
  ConsentRecorded: ConsentRecordedData,
  ConsentWithdrawn: ConsentWithdrawnData,
  PersonalDataAccessed: PersonalDataAccessedData,
  InformationRequested: InformationRequestedData,
  InformationProvided: InformationProvidedData,
  VictimStatusDetermined: VictimStatusDeterminedData,
  ReflectionPeriodGranted: ReflectionPeriodGrantedData,
  ReflectionPeriodEnded: ReflectionPeriodEndedData,
  ServiceReferralMade: ServiceReferralMadeData,
  ServiceReferralAssigned: ServiceReferralAssignedData,
  ServiceReferralAccepted: ServiceReferralAcceptedData,
  ServiceReferralDeclined: ServiceReferralDeclinedData,
  AssistanceDelivered: AssistanceDeliveredData,
  ServiceReferralClosed: ServiceReferralClosedData,
  MonitoringContactRecorded: MonitoringContactRecordedData,
  RiskFlagRaised: RiskFlagRaisedData,
  CaseClosed: CaseClosedData,
  CaseReopened: CaseReopenedData,
  PersonalDataErased: PersonalDataErasedData,
  DeadlineMissed: DeadlineMissedData,
  ChildProtectionRequested: ChildProtectionRequestedData,
  ChildProtectionAcknowledged: ChildProtectionAcknowledgedData,
  AgeAssessed: AgeAssessedData,
  AttributesCorrected: AttributesCorrectedData,
} as const;

export type ReferralsEvent =
  | { type: 'CaseNotified'; data: CaseNotifiedData; schemaVersion?: number }
  | { type: 'NotificationAcknowledged'; data: NotificationAcknowledgedData }
  | { type: 'ParticipantAdded'; data: ParticipantAddedData }
  | { type: 'ParticipantRemoved'; data: ParticipantRemovedData }
  | { type: 'ConsentRecorded'; data: ConsentRecordedData }
  | { type: 'ConsentWithdrawn'; data: ConsentWithdrawnData }
  | { type: 'PersonalDataAccessed'; data: PersonalDataAccessedData }
  | { type: 'InformationRequested'; data: InformationRequestedData }
  | { type: 'InformationProvided'; data: InformationProvidedData }
  | { type: 'VictimStatusDetermined'; data: VictimStatusDeterminedData }
  | { type: 'ReflectionPeriodGranted'; data: ReflectionPeriodGrantedData }
  | { type: 'ReflectionPeriodEnded'; data: ReflectionPeriodEndedData }
  | { type: 'ServiceReferralMade'; data: ServiceReferralMadeData }
  | { type: 'ServiceReferralAssigned'; data: ServiceReferralAssignedData }
  | { type: 'ServiceReferralAccepted'; data: z.infer<typeof ServiceReferralAcceptedData> }
  | { type: 'ServiceReferralDeclined'; data: z.infer<typeof ServiceReferralDeclinedData> }
  | { type: 'AssistanceDelivered'; data: AssistanceDeliveredData }
  | { type: 'ServiceReferralClosed'; data: z.infer<typeof ServiceReferralClosedData> }
  | { type: 'MonitoringContactRecorded'; data: z.infer<typeof MonitoringContactRecordedData> }
  | { type: 'RiskFlagRaised'; data: z.infer<typeof RiskFlagRaisedData> }
  | { type: 'CaseClosed'; data: z.infer<typeof CaseClosedData> }
  | { type: 'CaseReopened'; data: z.infer<typeof CaseReopenedData> }
  | { type: 'PersonalDataErased'; data: z.infer<typeof PersonalDataErasedData> }
  | { type: 'DeadlineMissed'; data: z.infer<typeof DeadlineMissedData> }
  | { type: 'ChildProtectionRequested'; data: ChildProtectionRequestedData }
  | { type: 'ChildProtectionAcknowledged'; data: ChildProtectionAcknowledgedData }
  | { type: 'AgeAssessed'; data: AgeAssessedData }
  | { type: 'AttributesCorrected'; data: AttributesCorrectedData };
