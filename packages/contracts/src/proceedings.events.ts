import { z } from 'zod';
import { CountryCode, IsoDate, Money, OrganisationType } from './values.js';

/**
 * Events of the proceedings service (support to a victim through criminal proceedings). One
 * stream per case, `proceedings-<caseId>`, holding every criminal case linked to it. Published as
 * `trm.proceedings.<event in lower-kebab>`.
 *
 * The criminal case reference (a court or prosecution file number) can identify the victim
 * indirectly: it stays encrypted in the proceedings vault and events carry only `criminalCaseId`,
 * an opaque id minted by TRM. No name, no contact, no free text travels here.
 */

/** Who recorded an event in the case: the capacity the organisation acted in. */
export const ProceedingsCapacity = z.enum(['coordinator', 'law_enforcement']);
export type ProceedingsCapacity = z.infer<typeof ProceedingsCapacity>;

export const ProceedingsAuthorityType = z.enum(['police', 'prosecutor', 'investigating_judge', 'court', 'other']);
export type ProceedingsAuthorityType = z.infer<typeof ProceedingsAuthorityType>;

export const ProceedingsOffence = z.enum([
  'trafficking_in_persons',
  'trafficking_in_minors',
  'pimping',
  'forced_labour',
  'slavery',
  'money_laundering',
  'organised_crime_group',
  'other',
]);
export type ProceedingsOffence = z.infer<typeof ProceedingsOffence>;

/** Ordered: a criminal case only moves forward through them. */
export const ProceedingsStage = z.enum(['investigation', 'prosecution', 'trial', 'appeal', 'final']);
export type ProceedingsStage = z.infer<typeof ProceedingsStage>;

export const ProtectionMeasure = z.enum([
  'anonymity',
  'video_testimony',
  'witness_protection',
  'testimony_without_defendant_present',
  'closed_hearing',
  'restraining_order',
]);
export type ProtectionMeasure = z.infer<typeof ProtectionMeasure>;

export const InformationChannel = z.enum(['in_person', 'phone', 'video_call', 'letter', 'email', 'through_legal_counsel']);
export type InformationChannel = z.infer<typeof InformationChannel>;

/** What a duty to inform the victim arose from. */
export const InformationDutyKind = z.enum(['stage_change', 'hearing', 'outcome']);
export type InformationDutyKind = z.infer<typeof InformationDutyKind>;

export const ProceedingsOutcome = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('conviction'),
    sentence: z.enum(['custodial', 'suspended']),
    lengthMonths: z.number().int().min(1).max(1200),
  }),
  z.strictObject({ kind: z.literal('acquittal') }),
  z.strictObject({ kind: z.literal('dismissed') }),
  z.strictObject({ kind: z.literal('statute_of_limitations_expired') }),
]);
export type ProceedingsOutcome = z.infer<typeof ProceedingsOutcome>;

/** A duty to inform the victim arises with the event; `informDueAt` is its deadline (policy, 5 days). */
const Duty = {
  dutyId: z.string(),
  informDueAt: z.string(),
};

export const ParticipationConsentedData = z.object({
  caseId: z.string(),
  /** Date the victim gave consent (YYYY-MM-DD). */
  consentedOn: IsoDate,
  recordedBy: z.string(),
  recordedByType: OrganisationType,
  consentedAt: z.string(),
});
export type ParticipationConsentedData = z.infer<typeof ParticipationConsentedData>;

export const ParticipationWithdrawnData = z.object({
  caseId: z.string(),
  withdrawnOn: IsoDate,
  recordedBy: z.string(),
  withdrawnAt: z.string(),
  /** Information duties still open at withdrawal: they lapse, as processing stops. */
  lapsedDutyIds: z.array(z.string()),
});
export type ParticipationWithdrawnData = z.infer<typeof ParticipationWithdrawnData>;

export const CriminalCaseLinkedData = z.object({
  caseId: z.string(),
  criminalCaseId: z.string(),
  country: CountryCode,
  authorityType: ProceedingsAuthorityType,
  offence: ProceedingsOffence,
  /** Stage the criminal case is at when linked (it may be linked late, at trial). */
  stage: ProceedingsStage,
  /** The reference itself is in the proceedings vault; this only says one is kept. */
  referenceKept: z.boolean(),
  linkedBy: z.string(),
  linkedAt: z.string(),
});
export type CriminalCaseLinkedData = z.infer<typeof CriminalCaseLinkedData>;

export const StageChangedData = z.object({
  caseId: z.string(),
  criminalCaseId: z.string(),
  stage: ProceedingsStage,
  previousStage: ProceedingsStage,
  changedOn: IsoDate,
  changedBy: z.string(),
  changedAt: z.string(),
  ...Duty,
});
export type StageChangedData = z.infer<typeof StageChangedData>;

export const HearingScheduledData = z.object({
  caseId: z.string(),
  criminalCaseId: z.string(),
  hearingId: z.string(),
  date: IsoDate,
  country: CountryCode,
  remoteTestimonyPossible: z.boolean(),
  victimToTestify: z.boolean(),
  scheduledBy: z.string(),
  scheduledAt: z.string(),
  ...Duty,
});
export type HearingScheduledData = z.infer<typeof HearingScheduledData>;

export const VictimInformedData = z.object({
  caseId: z.string(),
  /** The duties this information fulfils (what changed). */
  dutyIds: z.array(z.string()).min(1),
  channel: InformationChannel,
  informedBy: z.string(),
  informedByCapacity: ProceedingsCapacity,
  informedAt: z.string(),
  /** Those of `dutyIds` fulfilled after their deadline. */
  lateDutyIds: z.array(z.string()),
});
export type VictimInformedData = z.infer<typeof VictimInformedData>;

export const LegalCounselAssignedData = z.object({
  caseId: z.string(),
  criminalCaseId: z.string().nullable(),
  /** Registered organisation providing counsel, when it is one (a lawyer's name is not recorded). */
  counselOrganisationId: z.string().nullable(),
  freeOfCharge: z.boolean(),
  assignedOn: IsoDate,
  recordedBy: z.string(),
  recordedAt: z.string(),
});
export type LegalCounselAssignedData = z.infer<typeof LegalCounselAssignedData>;

export const ProtectionMeasureGrantedData = z.object({
  caseId: z.string(),
  criminalCaseId: z.string(),
  measure: ProtectionMeasure,
  grantedOn: IsoDate,
  recordedBy: z.string(),
  recordedAt: z.string(),
});
export type ProtectionMeasureGrantedData = z.infer<typeof ProtectionMeasureGrantedData>;

export const InterpreterAssignedData = z.object({
  caseId: z.string(),
  criminalCaseId: z.string().nullable(),
  /** ISO 639-1 (or 639-3 when there is no 2-letter code), lower case. */
  language: z.string().regex(/^[a-z]{2,3}$/),
  assignedOn: IsoDate,
  recordedBy: z.string(),
  recordedAt: z.string(),
});
export type InterpreterAssignedData = z.infer<typeof InterpreterAssignedData>;

export const CompensationClaimedData = z.object({
  caseId: z.string(),
  criminalCaseId: z.string(),
  claimId: z.string(),
  claimed: Money,
  /** From the offenders in the criminal trial, or from a state compensation fund. */
  against: z.enum(['offender', 'state_fund']),
  claimedOn: IsoDate,
  recordedBy: z.string(),
  recordedAt: z.string(),
});
export type CompensationClaimedData = z.infer<typeof CompensationClaimedData>;

export const CompensationDecidedData = z.object({
  caseId: z.string(),
  criminalCaseId: z.string(),
  claimId: z.string(),
  decision: z.enum(['awarded', 'rejected']),
  /** Amount awarded, in the claim's currency; 0 when rejected. */
  awarded: Money,
  paid: z.boolean(),
  decidedOn: IsoDate,
  recordedBy: z.string(),
  recordedAt: z.string(),
});
export type CompensationDecidedData = z.infer<typeof CompensationDecidedData>;

export const OutcomeRecordedData = z.object({
  caseId: z.string(),
  criminalCaseId: z.string(),
  outcomeId: z.string(),
  /** Stage of the criminal case when the decision was given (first instance, appeal, final). */
  stage: ProceedingsStage,
  outcome: ProceedingsOutcome,
  decidedOn: IsoDate,
  recordedBy: z.string(),
  recordedAt: z.string(),
  ...Duty,
});
export type OutcomeRecordedData = z.infer<typeof OutcomeRecordedData>;

/** A read of the (sensitive) criminal case reference, recorded before it is returned. */
export const CriminalCaseReferenceReadData = z.object({
  caseId: z.string(),
  criminalCaseId: z.string(),
  organisationId: z.string(),
  purpose: z.string(),
});
export type CriminalCaseReferenceReadData = z.infer<typeof CriminalCaseReferenceReadData>;

export const ProceedingsEventSchemas = {
  ParticipationConsented: ParticipationConsentedData,
  ParticipationWithdrawn: ParticipationWithdrawnData,
  CriminalCaseLinked: CriminalCaseLinkedData,
  StageChanged: StageChangedData,
  HearingScheduled: HearingScheduledData,
  VictimInformed: VictimInformedData,
  LegalCounselAssigned: LegalCounselAssignedData,
  ProtectionMeasureGranted: ProtectionMeasureGrantedData,
  InterpreterAssigned: InterpreterAssignedData,
  CompensationClaimed: CompensationClaimedData,
  CompensationDecided: CompensationDecidedData,
  OutcomeRecorded: OutcomeRecordedData,
  CriminalCaseReferenceRead: CriminalCaseReferenceReadData,
} as const;

export type ProceedingsEvent =
  | { type: 'ParticipationConsented'; data: ParticipationConsentedData }
  | { type: 'ParticipationWithdrawn'; data: ParticipationWithdrawnData }
  | { type: 'CriminalCaseLinked'; data: CriminalCaseLinkedData }
  | { type: 'StageChanged'; data: StageChangedData }
  | { type: 'HearingScheduled'; data: HearingScheduledData }
  | { type: 'VictimInformed'; data: VictimInformedData }
  | { type: 'LegalCounselAssigned'; data: LegalCounselAssignedData }
  | { type: 'ProtectionMeasureGranted'; data: ProtectionMeasureGrantedData }
  | { type: 'InterpreterAssigned'; data: InterpreterAssignedData }
  | { type: 'CompensationClaimed'; data: CompensationClaimedData }
  | { type: 'CompensationDecided'; data: CompensationDecidedData }
  | { type: 'OutcomeRecorded'; data: OutcomeRecordedData };

/** Recorded on `proceedings-access-<caseId>` so reading never changes the file's version. */
export type ProceedingsAccessEvent = { type: 'CriminalCaseReferenceRead'; data: CriminalCaseReferenceReadData };
