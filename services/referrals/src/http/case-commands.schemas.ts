import { z } from 'zod';
import {
  AgeAssessmentMethod,
  CaseReopenReason,
  ChildViews,
  Citizenship,
  ConsentGiver,
  CorrectionReason,
  CountryCode,
  ExploitationForm,
  OrganisationType,
  RecruiterRelation,
  ReferralSituation,
  Sex,
  ClosureReason,
  ConsentPurpose,
  DeciderBodyType,
  ErasureReason,
  InformationItem,
  IsoDate,
  MonitoringChannel,
  Money,
  ParticipantPurpose,
  RiskFlagKind,
  RiskFlagLevel,
  ServiceReferralDeclineReason,
  ServiceType,
  VictimStatus,
  Wellbeing,
} from '@trm/contracts';
import { PersonInput } from './case.schemas.js';

const OrgRef = z.string().min(1).max(63);
const unique = <T>(a: T[]) => new Set(a).size === a.length;

export const RequestInformationBody = z
  .strictObject({
    requestedFrom: OrgRef.describe('A participant of the case, usually the notifying organisation.'),
    items: z.array(InformationItem).min(1).max(9).refine(unique, 'items must not repeat'),
  })
  .meta({ examples: [{ requestedFrom: 'ngo-it', items: ['birthDate', 'documents', 'contacts'] }] });

export const ProvideInformationBody = z
  .strictObject({ person: PersonInput.describe('The items asked for; stored encrypted in the vault, never in events.') })
  .refine((b) => Object.keys(b.person).length > 0, { message: 'give at least one item', path: ['person'] })
  .meta({ examples: [{ person: { birthDate: '2002-03-14', contacts: { phone: '+39 333 000 0000' }, documents: [{ kind: 'passport', number: 'X1234567', issuingCountry: 'RO' }] } }] });

export const VictimStatusBody = z
  .strictObject({ status: VictimStatus, deciderBodyType: DeciderBodyType, determinedOn: IsoDate })
  .meta({ examples: [{ status: 'actual', deciderBodyType: 'prosecutor', determinedOn: '2026-11-20' }] });

export const GrantReflectionBody = z
  .strictObject({ startsOn: IsoDate, days: z.number().int().min(1).max(366).describe('At least 30 (Convention Art. 13); at most the policy maximum (90).') })
  .meta({ examples: [{ startsOn: '2026-11-21', days: 30 }] });

export const EndReflectionBody = z
  .strictObject({ endedOn: IsoDate, reason: z.enum(['expired', 'victim_decided', 'status_determined']) })
  .meta({ examples: [{ endedOn: '2026-12-20', reason: 'victim_decided' }] });

export const ConsentBody = z
  .strictObject({
    purpose: ConsentPurpose,
    sharingWith: OrgRef.optional().describe('Only for `sharing`: the organisation the data may be shared with.'),
    givenOn: IsoDate,
    givenBy: ConsentGiver.optional().describe(
      'Who gave it; default the person. For a child: `guardian` (the appointed guardian) or `parent` (only when no family involvement in the trafficking is recorded); the person’s own consent is refused for a child.',
    ),
    childViews: ChildViews.optional().describe('For a child: the child’s views, recorded (required for a child).'),
  })
  .meta({ examples: [{ purpose: 'sharing', sharingWith: 'provider-shelter', givenOn: '2026-11-20' }] });

export const WithdrawConsentBody = z
  .strictObject({ purpose: ConsentPurpose, sharingWith: OrgRef.optional(), withdrawnOn: IsoDate })
  .meta({ examples: [{ purpose: 'sharing', sharingWith: 'provider-shelter', withdrawnOn: '2026-11-25' }] });

export const AddParticipantBody = z
  .strictObject({ organisationId: OrgRef, purpose: ParticipantPurpose })
  .meta({ examples: [{ organisationId: 'dgaspc-bucharest', purpose: 'child_protection' }] });

export const RemoveParticipantBody = z
  .strictObject({ organisationId: OrgRef, purpose: ParticipantPurpose })
  .meta({ examples: [{ organisationId: 'consulate-ro-it', purpose: 'travel_documents' }] });

export const MakeReferralBody = z
  .strictObject({
    service: ServiceType,
    providerOrganisationId: OrgRef,
    emergency: z
      .boolean()
      .default(false)
      .describe('Emergency assistance for a child (shelter or medical), referred by child protection before any consent; recorded as emergency.'),
  })
  .meta({ examples: [{ service: 'shelter', providerOrganisationId: 'provider-shelter' }] });

export const AgeAssessmentBody = z
  .strictObject({
    method: AgeAssessmentMethod,
    assessedOn: IsoDate,
    result: z.enum(['child', 'adult']),
    estimatedAge: z.number().int().min(0).max(120).optional().describe('The assessed age, when the assessment gives one (it must agree with `result`).'),
  })
  .meta({ examples: [{ method: 'multidisciplinary', assessedOn: '2026-11-20', result: 'adult', estimatedAge: 19 }] });

export const ChildProtectionAcknowledgementBody = z.strictObject({}).meta({ examples: [{}] });

/** The attributes of a notification a correction may change; personal data under `person` goes to the vault. */
export const CorrectionBody = z
  .strictObject({
    reason: CorrectionReason,
    attributes: z
      .strictObject({
        age: z.number().int().min(0).max(120).nullable().optional().describe('Age at identification (null: unknown).'),
        ageApproximate: z.boolean().optional(),
        birthYear: z.number().int().min(1900).max(2100).nullable().optional().describe('Null: unknown.'),
        sex: Sex.optional(),
        citizenship: z
          .union([Citizenship, z.array(Citizenship).min(1).max(5).refine(unique, 'citizenships must not repeat')])
          .optional()
          .describe('The whole new list (the main one first), or one.'),
        formsOfExploitation: z.array(ExploitationForm).min(1).max(12).refine(unique, 'forms of exploitation must not repeat').optional(),
        situation: ReferralSituation.optional(),
        identifyingOrganisationType: OrganisationType.optional().describe('The type of the organisation that identified the person, when it is not the notifier.'),
        countryOfIdentification: CountryCode.optional(),
        countryOfExploitation: CountryCode.optional(),
        identificationDate: IsoDate.optional(),
        traffickedAcrossBorders: z.boolean().optional(),
        recruiterRelation: RecruiterRelation.optional(),
        county: z.string().regex(/^[A-Z0-9]{1,3}$/).nullable().optional(),
        returnWanted: z.boolean().optional(),
        plannedReturnDate: IsoDate.nullable().optional(),
      })
      .default({}),
    person: PersonInput.default({}).describe('Corrected personal data: written to the vault; the event names only the fields.'),
  })
  .refine((b) => Object.keys(b.attributes).length > 0 || Object.keys(b.person).length > 0, { message: 'correct at least one attribute or personal-data item', path: ['attributes'] })
  .meta({ examples: [{ reason: 'document_verified', attributes: { birthYear: 2010, age: null } }] });

export const AssignReferralBody = z
  .strictObject({ providerOrganisationId: OrgRef })
  .meta({ examples: [{ providerOrganisationId: 'provider-shelter' }] });

export const AcceptReferralBody = z.strictObject({}).meta({ examples: [{}] });

export const DeclineReferralBody = z.strictObject({ reason: ServiceReferralDeclineReason }).meta({ examples: [{ reason: 'no_capacity' }] });

export const AssistanceBody = z
  .strictObject({ periodFrom: IsoDate, periodTo: IsoDate, cost: Money })
  .meta({ examples: [{ periodFrom: '2026-11-21', periodTo: '2026-11-30', cost: { amount: '1250.00', currency: 'RON' } }] });

export const CloseReferralBody = z.strictObject({ reason: z.enum(['completed', 'cancelled']) }).meta({ examples: [{ reason: 'completed' }] });

export const MonitoringBody = z
  .strictObject({ contactedOn: IsoDate, channel: MonitoringChannel, wellbeing: Wellbeing })
  .meta({ examples: [{ contactedOn: '2026-12-15', channel: 'phone', wellbeing: 'stable' }] });

export const RiskFlagBody = z.strictObject({ kind: RiskFlagKind, level: RiskFlagLevel }).meta({ examples: [{ kind: 'threat', level: 'high' }] });

export const CloseCaseBody = z.strictObject({ reason: ClosureReason }).meta({ examples: [{ reason: 'reintegrated' }] });

export const ReopenCaseBody = z.strictObject({ reason: CaseReopenReason }).meta({ examples: [{ reason: 'new_needs' }] });

export const EraseBody = z.strictObject({ reason: ErasureReason }).meta({ examples: [{ reason: 'subject_request' }] });

export const ReferralParams = z.strictObject({ caseId: z.uuid(), referralId: z.uuid() });
export const InformationRequestParams = z.strictObject({ caseId: z.uuid(), informationRequestId: z.uuid() });
