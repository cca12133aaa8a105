import { z } from 'zod';
import { HandedOverToAssistanceData } from './repatriation.contract.js';
import { CountryCode, IsoDate, ServiceType } from './values.js';

/**
 * Events of the repatriation service (assisted voluntary return), stream `return-<returnId>`,
 * published as `trm.repatriation.<event in lower-kebab>`. Every event carries the case id and
 * the return id. No personal data: organisations are named by registry id, people only by the
 * pseudonymous user id of the token that acted (in the event metadata), places of arrival are
 * public places (an airport, a border crossing), never an address.
 */

const Ids = { caseId: z.string(), returnId: z.string() };

export const RiskLevel = z.enum(['low', 'medium', 'high']);
export type RiskLevel = z.infer<typeof RiskLevel>;

export const RiskRecommendation = z.enum(['proceed', 'proceed_with_measures', 'do_not_return']);
export type RiskRecommendation = z.infer<typeof RiskRecommendation>;

/** Closed list so a risk factor never becomes a free-text field that could carry a name. */
export const RiskFactor = z.enum([
  're_trafficking',
  'threat_from_traffickers',
  'family_involved_in_trafficking',
  'debt_bondage',
  'health_needs',
  'stigma',
  'no_housing',
  'no_income',
  'pending_proceedings',
  'other',
]);
export type RiskFactor = z.infer<typeof RiskFactor>;

/** What a `proceed_with_measures` recommendation asks for: a closed list, never free text. */
export const RiskMeasure = z.enum([
  'escort',
  'shelter_on_arrival',
  'police_protection',
  'psychological_support',
  'medical_care',
  'regular_monitoring',
  'family_mediation',
  'relocation_away_from_recruiters',
  'legal_assistance',
  'other',
]);
export type RiskMeasure = z.infer<typeof RiskMeasure>;

/**
 * Which side of the return assessed: the country of origin (its national contact point or child
 * protection) or the destination (the partner returning the person). The origin's assessment governs.
 */
export const RiskAssessmentSide = z.enum(['origin', 'destination']);
export type RiskAssessmentSide = z.infer<typeof RiskAssessmentSide>;

/** How the origin's contact point learnt of an arrival TRM had not heard of. */
export const UnannouncedArrivalSource = z.enum([
  'border_police',
  'deportation_notice',
  'person_presented_themselves',
  'ngo',
  'consulate',
  'other_authority',
  'other',
]);
export type UnannouncedArrivalSource = z.infer<typeof UnannouncedArrivalSource>;

export const TravelMode = z.enum(['air', 'land', 'sea']);
export type TravelMode = z.infer<typeof TravelMode>;

export const TravelDocumentRefusalReason = z.enum([
  'nationality_not_established',
  'identity_not_established',
  'person_did_not_appear',
  'valid_passport_held',
  'other',
]);
export type TravelDocumentRefusalReason = z.infer<typeof TravelDocumentRefusalReason>;

export const ReturnCancellationReason = z.enum([
  'victim_changed_mind',
  'consent_withdrawn',
  'best_interests_against_return',
  'risk_too_high',
  'travel_document_refused',
  'other',
]);
export type ReturnCancellationReason = z.infer<typeof ReturnCancellationReason>;

export const FamilyAssessmentOutcome = z.enum(['suitable', 'suitable_with_support', 'not_suitable']);
export type FamilyAssessmentOutcome = z.infer<typeof FamilyAssessmentOutcome>;

export const FollowUpSituation = z.enum(['reintegrating', 'needs_support', 'lost_contact', 'at_risk_of_re_trafficking']);
export type FollowUpSituation = z.infer<typeof FollowUpSituation>;

export const ReturnRequestedData = z.object({
  ...Ids,
  requestedBy: z.string(),
  /** When the request reached the national contact point (TRM delivers it on record). */
  requestedAt: z.string(),
  plannedDepartureDate: IsoDate,
  needs: z.array(ServiceType),
  escortRequired: z.boolean(),
  travelDocumentNeeded: z.boolean(),
  /** Under 18 on the planned date, the birth year read conservatively (a possible child is a child). */
  child: z.boolean(),
  /** Whole days from the request reaching the contact point to the planned departure. */
  noticeDays: z.number().int(),
  acknowledgementDueAt: z.string(),
});
export type ReturnRequestedData = z.infer<typeof ReturnRequestedData>;

/** Flagged once per return when the planned departure is sooner than the notice policy allows. */
export const LateNotificationFlaggedData = z.object({
  ...Ids,
  plannedDepartureDate: IsoDate,
  noticeDays: z.number().int(),
  requiredNoticeDays: z.number().int(),
  flaggedAt: z.string(),
});
export type LateNotificationFlaggedData = z.infer<typeof LateNotificationFlaggedData>;

export const ReturnRequestAcknowledgedData = z.object({
  ...Ids,
  acknowledgedBy: z.string(),
  /** User ids (token subjects) at the contact point, never names. */
  keyContactId: z.string(),
  alternateContactId: z.string(),
  acknowledgedAt: z.string(),
  /** Later than the acknowledgement policy (2 days by default). */
  late: z.boolean(),
});
export type ReturnRequestAcknowledgedData = z.infer<typeof ReturnRequestAcknowledgedData>;

export const RiskAssessmentRecordedData = z.object({
  ...Ids,
  assessmentId: z.string(),
  assessedBy: z.string(),
  assessedOn: IsoDate,
  level: RiskLevel,
  factors: z.array(RiskFactor),
  recommendation: RiskRecommendation,
  /** The measures a `proceed_with_measures` names; absent in events before the rule. */
  measures: z.array(RiskMeasure).optional(),
  /** Absent in events before the rule: worked out from `assessedBy` and the case's participants. */
  side: RiskAssessmentSide.optional(),
  recordedAt: z.string(),
});
export type RiskAssessmentRecordedData = z.infer<typeof RiskAssessmentRecordedData>;

/** The country of origin's view of an assessment: agreement and any factors it adds. */
export const RiskAssessmentCommentedData = z.object({
  ...Ids,
  assessmentId: z.string(),
  commentedBy: z.string(),
  concurs: z.boolean(),
  additionalFactors: z.array(RiskFactor),
  commentedAt: z.string(),
});
export type RiskAssessmentCommentedData = z.infer<typeof RiskAssessmentCommentedData>;

/**
 * The origin's national contact point settles a disagreement between the two sides' latest
 * assessments (one says do_not_return, or the origin does not concur): the return waits for it.
 */
export const RiskDisagreementResolvedData = z.object({
  ...Ids,
  resolvedBy: z.string(),
  originAssessmentId: z.string(),
  destinationAssessmentId: z.string(),
  recommendation: RiskRecommendation,
  measures: z.array(RiskMeasure),
  resolvedAt: z.string(),
});
export type RiskDisagreementResolvedData = z.infer<typeof RiskDisagreementResolvedData>;

export const TravelDocumentRequestedData = z.object({
  ...Ids,
  consulateId: z.string(),
  requestedBy: z.string(),
  requestedAt: z.string(),
});
export type TravelDocumentRequestedData = z.infer<typeof TravelDocumentRequestedData>;

/** A single-trip travel title; its number stays with the consulate. */
export const TravelDocumentIssuedData = z.object({
  ...Ids,
  consulateId: z.string(),
  documentType: z.literal('single_trip_travel_title'),
  validFrom: IsoDate,
  validUntil: IsoDate,
  issuedAt: z.string(),
});
export type TravelDocumentIssuedData = z.infer<typeof TravelDocumentIssuedData>;

export const TravelDocumentRefusedData = z.object({
  ...Ids,
  consulateId: z.string(),
  reason: TravelDocumentRefusalReason,
  refusedAt: z.string(),
});
export type TravelDocumentRefusedData = z.infer<typeof TravelDocumentRefusedData>;

export const TravelPlannedData = z.object({
  ...Ids,
  plannedBy: z.string(),
  departureDate: IsoDate,
  mode: TravelMode,
  departureCountry: CountryCode,
  transitCountries: z.array(CountryCode),
  escortOrganisationId: z.string().nullable(),
  /** A public place (airport, border crossing, station), never an address. */
  pointOfArrival: z.string(),
  child: z.boolean(),
  noticeDays: z.number().int(),
  plannedAt: z.string(),
});
export type TravelPlannedData = z.infer<typeof TravelPlannedData>;

export const ReceptionArrangedData = z.object({
  ...Ids,
  arrangedBy: z.string(),
  receivingOrganisationId: z.string(),
  pointOfArrival: z.string(),
  arrangedAt: z.string(),
});
export type ReceptionArrangedData = z.infer<typeof ReceptionArrangedData>;

export const GuardianAppointedData = z.object({
  ...Ids,
  /** Child protection authority that appointed the guardian; the guardian's identity stays with it. */
  appointedBy: z.string(),
  appointedOn: IsoDate,
  recordedAt: z.string(),
});
export type GuardianAppointedData = z.infer<typeof GuardianAppointedData>;

/** Convention Art. 16(7): a determination against return stops the return. */
export const BestInterestsDeterminedData = z.object({
  ...Ids,
  determinedBy: z.string(),
  determinedOn: IsoDate,
  returnInBestInterests: z.boolean(),
  recordedAt: z.string(),
});
export type BestInterestsDeterminedData = z.infer<typeof BestInterestsDeterminedData>;

export const FamilyAssessedData = z.object({
  ...Ids,
  assessedBy: z.string(),
  assessedOn: IsoDate,
  outcome: FamilyAssessmentOutcome,
  recordedAt: z.string(),
  /**
   * The recorded alternative to a family assessed not suitable (issue 17): child protection
   * taking part that places the child at arrival. Without it a return to a family not suitable
   * does not depart. Absent: none.
   */
  placementOrganisationId: z.string().optional(),
});
export type FamilyAssessedData = z.infer<typeof FamilyAssessedData>;

export const DepartedData = z.object({
  ...Ids,
  recordedBy: z.string(),
  departedAt: z.string(),
  child: z.boolean(),
  escortOrganisationId: z.string().nullable(),
  lateNotification: z.boolean(),
});
export type DepartedData = z.infer<typeof DepartedData>;

export const TransitRecordedData = z.object({
  ...Ids,
  recordedBy: z.string(),
  country: CountryCode,
  recordedAt: z.string(),
});
export type TransitRecordedData = z.infer<typeof TransitRecordedData>;

export const ArrivedData = z.object({
  ...Ids,
  receivedBy: z.string(),
  pointOfArrival: z.string(),
  arrivedAt: z.string(),
  /** When referrals recorded the notification: statistics derive time from notification to arrival. */
  caseNotifiedAt: z.string(),
  /** Follow-up deadlines set by policy (30, 90 and 180 days by default). */
  followUpsDue: z.array(z.object({ afterDays: z.number().int().positive(), dueAt: z.string() })),
});
export type ArrivedData = z.infer<typeof ArrivedData>;

export const FollowUpRecordedData = z.object({
  ...Ids,
  afterDays: z.number().int().positive(),
  recordedBy: z.string(),
  situation: FollowUpSituation,
  recordedAt: z.string(),
  dueAt: z.string(),
  late: z.boolean(),
});
export type FollowUpRecordedData = z.infer<typeof FollowUpRecordedData>;

/**
 * A person who arrived without TRM having heard of a return (an unannounced or deported arrival),
 * recorded by the origin's contact point: a fact, not a planned return, so no consent to return is
 * needed. It starts the return stream at `arrived`: hand-over to assistance and follow-ups go on
 * from there, and statistics count it as a return without notification.
 */
export const UnannouncedArrivalRecordedData = z.object({
  ...Ids,
  recordedBy: z.string(),
  arrivedOn: IsoDate,
  /** A public place (airport, border crossing), never an address. */
  pointOfArrival: z.string(),
  /** Sent back by the destination country's authorities rather than returning assisted. */
  deported: z.boolean(),
  learntFrom: UnannouncedArrivalSource,
  fromCountry: CountryCode.nullable(),
  child: z.boolean(),
  caseNotifiedAt: z.string(),
  followUpsDue: z.array(z.object({ afterDays: z.number().int().positive(), dueAt: z.string() })),
  recordedAt: z.string(),
});
export type UnannouncedArrivalRecordedData = z.infer<typeof UnannouncedArrivalRecordedData>;

export const ReturnCancelledData = z.object({
  ...Ids,
  cancelledBy: z.string(),
  reason: ReturnCancellationReason,
  cancelledAt: z.string(),
});
export type ReturnCancelledData = z.infer<typeof ReturnCancelledData>;

export const RepatriationEventSchemas = {
  ReturnRequested: ReturnRequestedData,
  LateNotificationFlagged: LateNotificationFlaggedData,
  ReturnRequestAcknowledged: ReturnRequestAcknowledgedData,
  RiskAssessmentRecorded: RiskAssessmentRecordedData,
  RiskAssessmentCommented: RiskAssessmentCommentedData,
  RiskDisagreementResolved: RiskDisagreementResolvedData,
  TravelDocumentRequested: TravelDocumentRequestedData,
  TravelDocumentIssued: TravelDocumentIssuedData,
  TravelDocumentRefused: TravelDocumentRefusedData,
  TravelPlanned: TravelPlannedData,
  ReceptionArranged: ReceptionArrangedData,
  GuardianAppointed: GuardianAppointedData,
  BestInterestsDetermined: BestInterestsDeterminedData,
  FamilyAssessed: FamilyAssessedData,
  Departed: DepartedData,
  TransitRecorded: TransitRecordedData,
  Arrived: ArrivedData,
  HandedOverToAssistance: HandedOverToAssistanceData,
  FollowUpRecorded: FollowUpRecordedData,
  ReturnCancelled: ReturnCancelledData,
  UnannouncedArrivalRecorded: UnannouncedArrivalRecordedData,
} as const;

export type RepatriationEventType = keyof typeof RepatriationEventSchemas;

export type RepatriationEvent = {
  [K in RepatriationEventType]: { type: K; data: z.infer<(typeof RepatriationEventSchemas)[K]> };
}[RepatriationEventType];
