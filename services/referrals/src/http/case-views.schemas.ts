import { z } from 'zod';
import {
  CASE_FIELDS,
  Citizenship,
  MinorBasis,
  OrganisationType,
  type CaseViewName,
  ClosureReason,
  ConsentPurpose,
  CountryCode,
  DeadlineKind,
  ExploitationForm,
  InformationItem,
  IsoDate,
  Money,
  RecruiterRelation,
  ReferralSituation,
  ServiceType,
  Sex,
  schemaFor,
} from '@trm/contracts';

/**
 * One view per purpose (DOMAIN: each participant sees only the fields its purpose needs). The
 * response schema strips anything else, so a field outside the purpose is absent, not null.
 */
export const CaseStatus = z.enum(['notified', 'acknowledged', 'closed']);

const Acknowledgement = z.object({
  acknowledgedBy: z.string(),
  acknowledgedAt: z.string(),
  keyContactId: z.string(),
  alternateContactId: z.string(),
  regionalCentreId: z.string(),
  late: z.boolean(),
});

export const CaseAttributes = z.object({
  countryOfIdentification: CountryCode,
  countryOfExploitation: CountryCode,
  identificationDate: IsoDate,
  formsOfExploitation: z.array(ExploitationForm),
  sex: Sex,
  ageAtIdentification: z.number().int().nullable(),
  birthYear: z.number().int().nullable(),
  ageBand: z.string().nullable(),
  ageApproximate: z.boolean().optional().describe('The age was given as an estimate.'),
  citizenship: Citizenship.describe('The main citizenship: ISO 3166-1 alpha-2, `XK`, `stateless` or `unknown`.'),
  citizenships: z.array(Citizenship).optional().describe('Every citizenship, the main one first, when there are several.'),
  county: z.string().nullable().optional().describe('ISO 3166-2 subdivision where the person is (routes child protection).'),
  identifyingOrganisationType: OrganisationType.optional().describe('The type of the organisation that identified the person, when a correction recorded it apart from the notifier.'),
  traffickedAcrossBorders: z.boolean(),
  recruiterRelation: RecruiterRelation,
  returnWanted: z.boolean(),
  plannedReturnDate: IsoDate.nullable(),
  personalDataFields: z.array(z.string()),
});

const Participant = z.object({ organisationId: z.string(), purpose: z.string() });
const Completeness = z.object({
  presentItems: z.array(InformationItem),
  missingItems: z.array(InformationItem).describe('Required items not yet in the vault.'),
  score: z.number().int().min(0).max(100).describe('Share of required items present.'),
});
const InformationRequestView = z.object({
  informationRequestId: z.string(),
  requestedFrom: z.string(),
  items: z.array(InformationItem),
  requestedAt: z.string(),
  dueAt: z.string(),
  providedItems: z.array(InformationItem).nullable(),
  providedAt: z.string().nullable(),
  overdue: z.boolean(),
});
const VictimStatusView = z.object({ status: z.string(), deciderBodyType: z.string(), determinedOn: IsoDate });
const ReflectionView = z.object({
  periodNumber: z.number().int(),
  startsOn: IsoDate,
  endsOn: IsoDate,
  days: z.number().int(),
  endedOn: IsoDate.nullable(),
  endReason: z.string().nullable(),
  endingSoon: z.boolean(),
});
const ConsentView = z.object({
  purpose: ConsentPurpose,
  sharingWith: z.string().nullable(),
  givenOn: IsoDate,
  givenBy: z.enum(['person', 'guardian', 'parent']).optional().describe('For a child: the guardian or a parent; absent: the person.'),
  childViews: z.string().optional().describe('For a child: the child’s views, recorded.'),
});
const Delivery = z.object({ periodFrom: IsoDate, periodTo: IsoDate, cost: Money });
export const ReferralView = z.object({
  referralId: z.string(),
  service: ServiceType,
  providerOrgId: z.string().nullable(),
  madeBy: z.string().describe('The organisation that made the referral.'),
  status: z.enum(['made', 'accepted', 'declined', 'closed']),
  returnId: z.string().nullable(),
  madeAt: z.string(),
  declineReason: z.string().nullable(),
  closeReason: z.string().nullable(),
  deliveries: z.array(Delivery),
});
const MonitoringView = z.object({ contactedOn: IsoDate, channel: z.string(), wellbeing: z.string(), recordedBy: z.string() });
const RiskFlagView = z.object({ kind: z.string(), level: z.string(), raisedBy: z.string(), raisedAt: z.string() });
const ClosureView = z.object({ reason: ClosureReason, closedAt: z.string() });
const DeadlineView = z.object({ deadlineId: z.string(), kind: DeadlineKind, dueAt: z.string(), met: z.boolean(), missed: z.boolean() });

/**
 * Every field any view of the case file may hold. Each view is cut from it by the access matrix
 * (CASE_FIELDS in packages/contracts/src/access-matrix.ts), so the schemas, the answers and
 * docs/ACCESS.md say the same.
 */
export const CaseFile = z.object({
  caseId: z.uuid(),
  version: z.number().int(),
  status: CaseStatus,
  minor: z.boolean().describe('A child’s case: under 18, or presumed so while the age is unknown or uncertain (CETS 197 Art. 10(3)).'),
  minorBasis: MinorBasis.nullable().describe('Why `minor` is true: `declared` by the facts given, `presumed` (age unknown or uncertain, until an age assessment), `assessed` by child protection; null for an adult.'),
  childProtection: z
    .object({ childProtectionOrgId: z.string().nullable(), requestedAt: z.string(), dueAt: z.string(), acknowledgedBy: z.string().nullable() })
    .optional()
    .describe('Child protection asked to join this child’s case: the authority routed (null: the contact point chooses), the deadline and who acknowledged.'),
  purposes: z.array(z.string()).describe('Why your organisation takes part.'),
  situation: ReferralSituation,
  notifyingOrganisationId: z.string(),
  notifiedAt: z.string(),
  acknowledgementDueAt: z.string(),
  acknowledgementOverdue: z.boolean(),
  acknowledgement: Acknowledgement.optional(),
  attributes: CaseAttributes,
  participants: z.array(Participant).describe('The organisations taking part that you work with (docs/ACCESS.md).'),
  completeness: Completeness,
  informationRequests: z.array(InformationRequestView),
  victimStatus: VictimStatusView.optional(),
  reflectionPeriod: ReflectionView.optional(),
  consents: z.array(ConsentView),
  referrals: z.array(ReferralView),
  monitoringContacts: z.array(MonitoringView),
  riskFlags: z.array(RiskFlagView),
  closure: ClosureView.optional(),
  personalDataErasedAt: z.string().optional(),
  deadlines: z.array(DeadlineView),
  contactDataAvailable: z
    .boolean()
    .describe('True while the person’s consent to share with you stands and a referral of yours is open: then GET …/personal-data?purpose=assistance gives the contact data.'),
});
export type CaseFile = z.infer<typeof CaseFile>;

const viewOf = <V extends CaseViewName>(view: V, meta: { id: string; description: string }) =>
  z.object({ view: z.literal(view), ...schemaFor(CaseFile, CASE_FIELDS, [view]).shape }).meta(meta);

export const NationalContactPointCaseView = viewOf('national_contact_point', {
  id: 'NationalContactPointCaseView',
  description: 'The whole case file: the national contact point and its regional centre.',
});
export const NotifierCaseView = viewOf('notifier', {
  id: 'NotifierCaseView',
  description: 'What the notifying partner follows: receipt, requests addressed to it, status, reflection period; participants it works with.',
});
export const ServiceProviderCaseView = viewOf('service_provider', {
  id: 'ServiceProviderCaseView',
  description: 'A service provider: its own referrals and whether it may read the contact data to deliver them.',
});
export const ChildProtectionCaseView = viewOf('child_protection', {
  id: 'ChildProtectionCaseView',
  description: 'Child protection (DGASPC): the child’s situation, services, risks and monitoring; no costs, no consents; organisations only where it works with them.',
});
export const ParticipantCaseView = viewOf('participant', {
  id: 'ParticipantCaseView',
  description: 'Any other participant (consulate, police…): that the case exists and why it takes part.',
});

export const CaseView = z
  .discriminatedUnion('view', [NationalContactPointCaseView, NotifierCaseView, ServiceProviderCaseView, ChildProtectionCaseView, ParticipantCaseView])
  .meta({ id: 'CaseView' });
export type CaseView = z.infer<typeof CaseView>;

export const CaseCreated = z.object({ id: z.string().describe('Id of what the command created.'), case: CaseView });

export const CaseSummary = z.object({
  caseId: z.uuid(),
  version: z.number().int(),
  status: CaseStatus,
  minor: z.boolean(),
  notifiedAt: z.string(),
  acknowledgementDueAt: z.string(),
  acknowledgementOverdue: z.boolean(),
  purposes: z.array(z.string()).describe('Why your organisation takes part.'),
});

export const TimelineEntry = z.object({
  position: z.string().describe('Global position: entries are in the order they were recorded.'),
  type: z.string(),
  recordedAt: z.string(),
  organisationId: z.string().optional().describe('Who did it: present when your organisation works with it (docs/ACCESS.md).'),
  actor: z.string().optional().describe('The user, for the coordinating contact point only.'),
  data: z.record(z.string(), z.unknown()).optional().describe('Present when your purpose allows the event’s details.'),
});
export const TimelineQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
});
export const Timeline = z.object({ caseId: z.uuid(), entries: z.array(TimelineEntry), nextCursor: z.string().nullable() });

export const DeadlineItem = z.object({
  caseId: z.uuid(),
  deadlineId: z.string(),
  kind: DeadlineKind,
  dueAt: z.string(),
  state: z.enum(['due', 'ending_soon', 'overdue']),
  missedRecorded: z.boolean(),
});
export const DeadlineList = z.object({ items: z.array(DeadlineItem), nextCursor: z.string().nullable() });
