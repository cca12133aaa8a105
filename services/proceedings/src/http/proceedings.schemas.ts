import { z } from 'zod';
import {
  CountryCode,
  InformationChannel,
  InformationDutyKind,
  IsoDate,
  Money,
  ProceedingsAuthorityType,
  ProceedingsOffence,
  ProceedingsOutcome,
  ProceedingsStage,
  ProtectionMeasure,
  OffenderReleaseKind,
  StageSource,
} from '@trm/contracts';

export const CaseIdParams = z.strictObject({ caseId: z.uuid() });
export const CriminalCaseParams = z.strictObject({ caseId: z.uuid(), criminalCaseId: z.uuid() });
export const ClaimParams = z.strictObject({ caseId: z.uuid(), claimId: z.uuid() });

export const ConsentBody = z
  .strictObject({ consentedOn: IsoDate.describe('Date the victim consented to take part in the proceedings.') })
  .describe('Consent of the victim to take part in criminal proceedings, recorded on their behalf.')
  .meta({ examples: [{ consentedOn: '2026-11-20' }] });

export const WithdrawBody = z
  .strictObject({
    withdrawnOn: IsoDate,
    informationDeclined: z
      .boolean()
      .default(false)
      .describe('The victim asked not to be informed any more. Otherwise they are still informed of stages, hearings, outcomes and an offender’s release or escape.'),
  })
  .meta({ examples: [{ withdrawnOn: '2026-12-01', informationDeclined: false }] });

export const LinkCriminalCaseBody = z
  .strictObject({
    country: CountryCode,
    authorityType: ProceedingsAuthorityType,
    offence: ProceedingsOffence,
    stage: ProceedingsStage.default('investigation'),
    reference: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('The authority’s own file number. It may identify the victim: stored encrypted, never in events or listings.'),
  })
  .meta({ examples: [{ country: 'IT', authorityType: 'prosecutor', offence: 'trafficking_in_persons', stage: 'investigation', reference: 'RGNR 1234/2026' }] });

export const ChangeStageBody = z
  .strictObject({
    stage: ProceedingsStage,
    changedOn: IsoDate.describe('The day the stage changed: the duty to inform the victim counts from it.'),
    source: StageSource.optional().describe(
      'Where the stage was learnt from. Required when the proceedings coordinator records a stage of a trial abroad (`lawyer` or `foreign_authority`); law enforcement: `law_enforcement` by default.',
    ),
  })
  .meta({ examples: [{ stage: 'trial', changedOn: '2026-11-20' }] });

export const HearingBody = z
  .strictObject({
    date: IsoDate,
    country: CountryCode,
    remoteTestimonyPossible: z.boolean().describe('The victim may testify by video link from another country.'),
    victimToTestify: z.boolean().default(false),
    scheduledOn: IsoDate.optional().describe('The day the hearing was set (default: today). The victim must be informed within the policy days of it, and no later than the day before the hearing.'),
  })
  .meta({ examples: [{ date: '2027-01-15', country: 'IT', remoteTestimonyPossible: true, victimToTestify: true, scheduledOn: '2026-11-20' }] });

export const OffenderReleaseBody = z
  .strictObject({
    kind: OffenderReleaseKind.describe('`released` (end of sentence, parole, release before trial) or `escaped`.'),
    releasedOn: IsoDate.describe('The day of the release or escape: the duty to inform the victim counts from it.'),
  })
  .meta({ examples: [{ kind: 'released', releasedOn: '2026-11-20' }] });

export const PaymentBody = z
  .strictObject({ amount: Money.describe('Amount paid, in the award’s currency; all payments together never exceed the award.'), paidOn: IsoDate })
  .meta({ examples: [{ amount: { amount: '5000.00', currency: 'EUR' }, paidOn: '2026-12-01' }] });

export const OutcomeBody = z
  .strictObject({ outcome: ProceedingsOutcome, decidedOn: IsoDate })
  .describe('Other kinds: `{ "kind": "acquittal" }`, `{ "kind": "dismissed" }`, `{ "kind": "statute_of_limitations_expired" }`.')
  .meta({ examples: [{ outcome: { kind: 'conviction', sentence: 'suspended', lengthMonths: 24 }, decidedOn: '2026-11-20' }] });

export const ProtectionMeasureBody = z
  .strictObject({ measure: ProtectionMeasure, grantedOn: IsoDate })
  .meta({ examples: [{ measure: 'video_testimony', grantedOn: '2026-11-20' }] });

export const LegalCounselBody = z
  .strictObject({
    criminalCaseId: z.uuid().optional(),
    counselOrganisationId: z.string().min(1).max(63).optional().describe('Registered organisation providing counsel; the lawyer’s name is not recorded.'),
    freeOfCharge: z.boolean(),
    assignedOn: IsoDate,
  })
  .meta({ examples: [{ counselOrganisationId: 'ngo-it', freeOfCharge: true, assignedOn: '2026-11-20' }] });

export const InterpreterBody = z
  .strictObject({
    criminalCaseId: z.uuid().optional(),
    language: z.string().regex(/^[a-z]{2,3}$/, 'expected an ISO 639 code in lower case').describe('ISO 639-1 (or 639-3) code.'),
    assignedOn: IsoDate,
  })
  .meta({ examples: [{ language: 'ro', assignedOn: '2026-11-20' }] });

export const ClaimBody = z
  .strictObject({ claimed: Money, against: z.enum(['offender', 'state_fund']), claimedOn: IsoDate })
  .meta({ examples: [{ claimed: { amount: '25000.00', currency: 'EUR' }, against: 'offender', claimedOn: '2026-11-20' }] });

export const DecisionBody = z
  .strictObject({ decision: z.enum(['awarded', 'rejected']), awarded: Money, paid: z.boolean(), decidedOn: IsoDate })
  .meta({ examples: [{ decision: 'awarded', awarded: { amount: '15000.00', currency: 'EUR' }, paid: false, decidedOn: '2026-11-20' }] });

export const VictimInformedBody = z
  .strictObject({
    dutyIds: z.array(z.uuid()).min(1).max(50).describe('The information duties fulfilled (what changed), from the proceedings file or the duty list.'),
    channel: InformationChannel,
  })
  .meta({ examples: [{ dutyIds: ['019a0000-0000-7000-8000-000000000042'], channel: 'through_legal_counsel' }] });

export const ReferenceQuery = z.strictObject({
  purpose: z.enum(['contact_authority', 'legal_counsel', 'case_management']).describe('Why the reference is read; the read is recorded.'),
});

export const DutyView = z.object({
  dutyId: z.string(),
  caseId: z.string(),
  criminalCaseId: z.string(),
  kind: InformationDutyKind,
  arisenAt: z.string(),
  dueAt: z.string(),
  status: z.enum(['open', 'fulfilled', 'lapsed']),
  overdue: z.boolean().describe('Open and past its deadline (policy PROCEEDINGS_INFORM_DAYS, 5 days).'),
  informedAt: z.string().nullable(),
  late: z.boolean().describe('Fulfilled after its deadline.'),
});
export type DutyView = z.infer<typeof DutyView>;

export const ProceedingsView = z.object({
  caseId: z.uuid(),
  version: z.number().int(),
  participation: z.enum(['none', 'consented', 'withdrawn']),
  consentedOn: IsoDate.nullable(),
  withdrawnOn: IsoDate.nullable(),
  informationDeclined: z.boolean().describe('The victim asked not to be informed (recorded with the withdrawal); until then they are informed whether or not they take part.'),
  criminalCases: z.array(
    z.object({
      criminalCaseId: z.string(),
      country: CountryCode,
      authorityType: ProceedingsAuthorityType,
      offence: ProceedingsOffence,
      referenceKept: z.boolean(),
      linkedAt: z.string(),
      stage: ProceedingsStage,
      closed: z.boolean(),
      hearings: z.array(z.object({ hearingId: z.string(), date: IsoDate, country: CountryCode, remoteTestimonyPossible: z.boolean(), victimToTestify: z.boolean() })),
      outcomes: z.array(z.object({ outcomeId: z.string(), stage: ProceedingsStage, outcome: ProceedingsOutcome, decidedOn: IsoDate })),
      protectionMeasures: z.array(z.object({ measure: ProtectionMeasure, grantedOn: IsoDate })),
    }),
  ),
  duties: z.array(DutyView),
  claims: z.array(
    z.object({
      claimId: z.string(),
      criminalCaseId: z.string(),
      claimed: Money,
      against: z.enum(['offender', 'state_fund']),
      claimedOn: IsoDate,
      decision: z.object({ decision: z.enum(['awarded', 'rejected']), awarded: Money, paid: z.boolean(), decidedOn: IsoDate }).nullable(),
      payments: z.array(z.object({ amount: Money, paidOn: IsoDate })).describe('Compensation paid after the award (CompensationPaid).'),
    }),
  ),
  legalCounsel: z.array(z.object({ criminalCaseId: z.string().nullable(), counselOrganisationId: z.string().nullable(), freeOfCharge: z.boolean(), assignedOn: IsoDate })),
  interpreters: z.array(z.object({ criminalCaseId: z.string().nullable(), language: z.string(), assignedOn: IsoDate })),
});
export type ProceedingsView = z.infer<typeof ProceedingsView>;

export const CommandAnswer = z.object({
  created: z
    .object({ criminalCaseId: z.string(), hearingId: z.string(), outcomeId: z.string(), claimId: z.string(), dutyId: z.string() })
    .partial()
    .describe('Ids minted by this command (and the information duty it opened, if any).'),
  proceedings: ProceedingsView,
});

export const DutyListQuery = z.strictObject({
  status: z.enum(['open', 'overdue', 'fulfilled', 'lapsed']).optional().describe('`overdue`: open and past its deadline.'),
  caseId: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
});

export const DutyList = z.object({ items: z.array(DutyView), nextCursor: z.string().nullable() });

export const ReferenceView = z.object({ caseId: z.uuid(), criminalCaseId: z.uuid(), status: z.enum(['present', 'erased', 'absent']), reference: z.string().optional() });
