import { z } from 'zod';
import {
  CaseReopenReason,
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
  .strictObject({ service: ServiceType, providerOrganisationId: OrgRef })
  .meta({ examples: [{ service: 'shelter', providerOrganisationId: 'provider-shelter' }] });

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
