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
export const InformationDutyKind = z.enum(['stage_change', 'hearing', 'outcome', 'offender_release']);
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

/** Who a stage change was learnt from: the authority itself, or (a foreign trial) the victim's lawyer or the foreign authority. */
export const StageSource = z.enum(['law_enforcement', 'lawyer', 'foreign_authority']);
export type StageSource = z.infer<typeof StageSource>;

/** An offender released (end of sentence, parole, pre-trial release) or escaped: the victim is told (Directive 2012/29/EU Art. 6(5)). */
export const OffenderReleaseKind = z.enum(['released', 'escaped']);
export type OffenderReleaseKind = z.infer<typeof OffenderReleaseKind>;

/**
 * A duty to inform the victim arises with the event; `informDueAt` is its deadline, counted from
 * the date the event happened (not when it was recorded): that date plus the policy days (5), and
 * for a hearing no later than the day before it.
 */
const Duty = {
  dutyId: z.string(),
  informDueAt: z.string(),
  /** `false` when the victim asked not to be informed: the event is recorded, no duty arises. Absent: a duty arises. */
  dutyArises: z.literal(false).optional(),
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
  /**
   * Information duties that lapse with the withdrawal: only when the victim asked not to be
   * informed (`informationDeclined`). Withdrawing from the proceedings does not end the right to be
   * informed (Directive 2012/29/EU Art. 6): otherwise the duties stay open. Events recorded before
   * that rule listed every open duty here.
   */
  lapsedDutyIds: z.array(z.string()),
  /** The victim asked not to be informed any more (recorded); absent in events before the rule: false. */
  informationDeclined: z.boolean().optional(),
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
  /** Where the stage was learnt from; absent in events before the rule: law enforcement. */
  source: StageSource.optional(),
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
  /** The day the hearing was set (the duty to inform counts from it); absent before the rule. */
  scheduledOn: IsoDate.optional(),
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

/** Compensation actually paid (in part or in full) after an award. */
export const CompensationPaidData = z.object({
  caseId: z.string(),
  criminalCaseId: z.string(),
  claimId: z.string(),
  /** Amount paid, in the claim's currency. */
  amount: Money,
  paidOn: IsoDate,
  recordedBy: z.string(),
  recordedAt: z.string(),
});
export type CompensationPaidData = z.infer<typeof CompensationPaidData>;

/** An offender's release or escape: the victim is informed unless they asked not to be. */
export const OffenderReleasedData = z.object({
  caseId: z.string(),
  criminalCaseId: z.string(),
  kind: OffenderReleaseKind,
  releasedOn: IsoDate,
  recordedBy: z.string(),
  recordedAt: z.string(),
  ...Duty,
});
export type OffenderReleasedData = z.infer<typeof OffenderReleasedData>;

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
  CompensationPaid: CompensationPaidData,
  OffenderReleased: OffenderReleasedData,
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
  | { type: 'OutcomeRecorded'; data: OutcomeRecordedData }
  | { type: 'CompensationPaid'; data: CompensationPaidData }
  | { type: 'OffenderReleased'; data: OffenderReleasedData };

/** Recorded on `proceedings-access-<caseId>` so reading never changes the file's version. */
export type ProceedingsAccessEvent = { type: 'CriminalCaseReferenceRead'; data: CriminalCaseReferenceReadData };
