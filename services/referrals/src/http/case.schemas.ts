import { z } from 'zod';
import {
  Citizenship,
  CountryCode,
  ExploitationForm,
  InformationItem,
  IsoDate,
  LegalBasis,
  RecruiterRelation,
  ReferralSituation,
  Sex,
} from '@trm/contracts';
import { CaseSummary } from './case-views.schemas.js';

/**
 * Personal data of the person notified. It goes to the vault (encrypted per case) and never into
 * an event, a log line or an error body.
 */
export const PersonInput = z
  .strictObject({
    givenName: z.string().min(1).max(200).optional(),
    familyName: z.string().min(1).max(200).optional(),
    otherNames: z.array(z.string().min(1).max(200)).max(10).optional(),
    birthDate: IsoDate.optional(),
    birthPlace: z.string().min(1).max(200).optional(),
    contacts: z
      .strictObject({
        phone: z.string().min(3).max(50).optional(),
        email: z.string().email().max(320).optional(),
        address: z.string().min(1).max(500).optional(),
      })
      .optional(),
    documents: z
      .array(
        z.strictObject({
          kind: z.enum(['passport', 'identity_card', 'birth_certificate', 'residence_permit', 'other']),
          number: z.string().min(1).max(100),
          issuingCountry: CountryCode,
          expiryDate: IsoDate.optional(),
        }),
      )
      .max(10)
      .optional(),
    narrative: z.string().min(1).max(20_000).optional(),
    health: z.string().min(1).max(5_000).optional(),
  })
  .describe('Personal data: stored encrypted in the vault, never in events.');
export type PersonInput = z.infer<typeof PersonInput>;

const notifyExample = {
  situation: 'identified_by_international_ngo',
  countryOfIdentification: 'IT',
  countryOfExploitation: 'IT',
  identificationDate: '2026-11-18',
  formsOfExploitation: ['forced_labour'],
  sex: 'female',
  age: 24,
  citizenship: 'RO',
  traffickedAcrossBorders: true,
  recruiterRelation: 'friend_or_acquaintance',
  returnWanted: true,
  plannedReturnDate: '2026-12-10',
  person: {
    givenName: 'Ana',
    familyName: 'Example',
    birthDate: '2002-03-14',
    contacts: { phone: '+39 333 000 0000' },
    narrative: 'Recruited with a promise of farm work.',
  },
};

export const NotifyCaseBody = z
  .strictObject({
    situation: ReferralSituation,
    countryOfIdentification: CountryCode,
    countryOfExploitation: CountryCode,
    identificationDate: IsoDate,
    formsOfExploitation: z
      .array(ExploitationForm)
      .min(1)
      .max(12)
      .refine((a) => new Set(a).size === a.length, 'forms of exploitation must not repeat'),
    sex: Sex,
    age: z
      .number()
      .int()
      .min(0)
      .max(120)
      .optional()
      .describe('Age at identification, when known. Leave out age and birth year when neither is known: the person is then presumed a child (CETS 197 Art. 10(3)) until child protection assesses the age.'),
    ageApproximate: z.boolean().default(false).describe('The age is an estimate: the person is presumed a child until child protection assesses the age.'),
    birthYear: z.number().int().min(1900).max(2100).optional().describe('When the exact age is not known. A birth year whose lower bound of age is under 18 presumes a child.'),
    citizenship: z
      .union([Citizenship, z.array(Citizenship).min(1).max(5).refine((a) => new Set(a).size === a.length, 'citizenships must not repeat')])
      .describe('ISO 3166-1 alpha-2, `XK` (Kosovo), `stateless` or `unknown`; several as a list, the main one first (RO + MD). A citizenship that names no country is routed to the contact point of the country of identification.'),
    county: z
      .string()
      .regex(/^[A-Z0-9]{1,3}$/)
      .optional()
      .describe('ISO 3166-2 subdivision (county) where the person is, without the country prefix (`B` for Bucharest, `CJ` for Cluj): routes child protection for a child.'),
    traffickedAcrossBorders: z.boolean(),
    recruiterRelation: RecruiterRelation,
    returnWanted: z.boolean(),
    plannedReturnDate: IsoDate.optional(),
    addressedTo: z
      .string()
      .min(1)
      .max(63)
      .optional()
      .describe(
        'The central national contact point the notification is addressed to: it coordinates the case. By default the one of the victim’s citizenship for a victim identified abroad, ' +
          'of the country of identification for a foreign victim identified there (situation `foreign_victim`), for a national identified at home, or when international protection is sought or the victim fears the authorities of the country of citizenship; ' +
          'the home contact point (policy TRM_HOME_NCP) when that country has none. 422 `invalid-addressee` when it is not an active central contact point, or is one of a country the victim fears (or of the citizenship while international protection is sought).',
      ),
    internationalProtectionSought: z
      .boolean()
      .default(false)
      .describe('The person seeks international protection: the contact point of their citizenship never takes part, and no further contact point joins.'),
    fearsAuthoritiesOf: z
      .array(CountryCode)
      .max(20)
      .refine((a) => new Set(a).size === a.length, 'countries must not repeat')
      .default([])
      .describe('Countries whose authorities the person fears: their contact points never take part in the case.'),
    person: PersonInput.default({}),
  })
  .meta({ examples: [notifyExample] });
export type NotifyCaseBody = z.infer<typeof NotifyCaseBody>;

export const AcknowledgeBody = z
  .strictObject({
    keyContactId: z.string().min(1).max(200).describe('User id (token subject) of the key contact at the contact point.'),
    alternateContactId: z.string().min(1).max(200),
    regionalCentreId: z.string().min(1).max(63),
  })
  .meta({ examples: [{ keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', regionalCentreId: 'anitp-rc-bucharest' }] });

export const CaseIdParams = z.strictObject({ caseId: z.uuid() });

export const CaseListQuery = z.strictObject({
  status: z.enum(['notified', 'acknowledged', 'closed']).optional(),
  situation: ReferralSituation.optional(),
  overdue: z.enum(['true', 'false']).optional().describe('Acknowledgement overdue (policy: 2 days after notification).'),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(200).optional(),
});

export const CaseList = z.object({
  items: z.array(CaseSummary),
  nextCursor: z.string().nullable(),
});

export const PersonalDataQuery = z.strictObject({
  purpose: z.enum(['case_management', 'assistance', 'return', 'child_protection', 'travel_documents']).describe('Why the data is read; the read is recorded.'),
});

export const PersonalDataView = z.object({
  caseId: z.uuid(),
  status: z.enum(['present', 'erased', 'absent']),
  data: PersonInput.optional(),
  /** The legal basis of each field returned (checked by the service, recorded with the read). */
  legalBases: z
    .array(z.object({ basis: LegalBasis, fields: z.array(InformationItem) }))
    .optional()
    .describe(
      'The legal basis of each field returned, as recorded in `PersonalDataAccessed`: `collected_by_reader` (your organisation put it in the file and nobody else’s values are in it), ' +
        '`statutory_coordination` (the contact point coordinating the case, or its regional centre), `statutory_child_protection` (child protection on a child’s case), `consent` (the person consented to share with you, for what your purpose needs).',
    ),
  withheld: z
    .array(InformationItem)
    .optional()
    .describe('Names of the items in the file you have no legal basis for: not returned (names only, never values).'),
  erasedAt: z.string().optional(),
});
