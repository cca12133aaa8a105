import { z } from 'zod';
import {
  ConsentPurpose,
  CountryCode,
  ExploitationForm,
  IsoDate,
  OrganisationType,
  RecruiterRelation,
  ReferralSituation,
  Sex,
} from './values.js';

/**
 * Events of the referrals service (the case file at the national contact point). They carry a
 * pseudonymous case id and only the non-identifying attributes statistics need; names, birth
 * dates, contacts, documents, narrative and health stay in the referrals vault.
 */

const AgeBandValue = z.enum(['0-13', '14-17', '18-25', '26-35', '36+']);

export const CaseNotifiedData = z.object({
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
  /** Central national contact points that receive the notification and take part in the case. */
  nationalContactPointIds: z.array(z.string()).min(1),
  /** Names (not values) of the personal-data fields kept in the vault for this case. */
  personalDataFields: z.array(z.string()),
  notifiedAt: z.string(),
  acknowledgementDueAt: z.string(),
});
export type CaseNotifiedData = z.infer<typeof CaseNotifiedData>;

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

export const PersonalDataAccessedData = z.object({
  caseId: z.string(),
  organisationId: z.string(),
  purpose: z.string(),
  fields: z.array(z.string()),
});

export const ReferralsEventSchemas = {
  CaseNotified: CaseNotifiedData,
  NotificationAcknowledged: NotificationAcknowledgedData,
  ParticipantAdded: ParticipantAddedData,
  ParticipantRemoved: ParticipantRemovedData,
  ConsentRecorded: ConsentRecordedData,
  ConsentWithdrawn: ConsentWithdrawnData,
  PersonalDataAccessed: PersonalDataAccessedData,
} as const;

export type ReferralsEvent =
  | { type: 'CaseNotified'; data: CaseNotifiedData }
  | { type: 'NotificationAcknowledged'; data: NotificationAcknowledgedData }
  | { type: 'ParticipantAdded'; data: ParticipantAddedData }
  | { type: 'ParticipantRemoved'; data: ParticipantRemovedData }
  | { type: 'ConsentRecorded'; data: ConsentRecordedData }
  | { type: 'ConsentWithdrawn'; data: ConsentWithdrawnData }
  | { type: 'PersonalDataAccessed'; data: z.infer<typeof PersonalDataAccessedData> };
