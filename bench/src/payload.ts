import { randomUUID } from 'node:crypto';
import type { CaseNotifiedData, NotificationAcknowledgedData } from '@trm/contracts';
import type { EventMetadata } from '@trm/event-store';

const SITUATIONS = ['identified_by_law_enforcement', 'referred_and_returned_by_iom', 'identified_by_international_ngo', 'identified_by_consulate'] as const;
const COUNTRIES = ['IT', 'ES', 'DE', 'FR', 'GB', 'NL', 'AT', 'BE'] as const;
const FORMS = [['forced_labour'], ['sexual_exploitation'], ['forced_begging', 'forced_criminality'], ['servitude']] as const;

/**
 * A CaseNotified as referrals records it: the non-identifying attributes only, about 700 bytes of
 * JSON. Every store in the comparison gets exactly this payload.
 */
export function caseNotified(caseId: string, n: number, at: Date): CaseNotifiedData {
  const age = 14 + (n % 40);
  const country = COUNTRIES[n % COUNTRIES.length]!;
  return {
    caseId,
    situation: SITUATIONS[n % SITUATIONS.length]!,
    notifyingOrganisationId: 'ngo-it',
    notifyingOrganisationType: 'ngo',
    countryOfIdentification: country,
    countryOfExploitation: country,
    identificationDate: '2026-11-18',
    formsOfExploitation: [...FORMS[n % FORMS.length]!],
    sex: n % 3 === 0 ? 'male' : 'female',
    ageAtIdentification: age,
    birthYear: null,
    ageBand: age <= 17 ? '14-17' : age <= 25 ? '18-25' : age <= 35 ? '26-35' : '36+',
    minor: age < 18,
    citizenship: 'RO',
    traffickedAcrossBorders: true,
    recruiterRelation: 'friend_or_acquaintance',
    returnWanted: true,
    plannedReturnDate: '2026-12-10',
    nationalContactPointIds: ['anitp'],
    personalDataFields: ['birthDate', 'contacts', 'familyName', 'givenName', 'narrative'],
    notifiedAt: at.toISOString(),
    acknowledgementDueAt: new Date(at.getTime() + 2 * 86_400_000).toISOString(),
  } as CaseNotifiedData;
}

export function notificationAcknowledged(caseId: string, at: Date): NotificationAcknowledgedData {
  return {
    caseId,
    acknowledgedBy: 'anitp',
    keyContactId: 'officer-ionescu',
    alternateContactId: 'officer-popa',
    regionalCentreId: 'anitp-rc-bucharest',
    acknowledgedAt: at.toISOString(),
    late: false,
  };
}

export function eventMetadata(): EventMetadata {
  const id = randomUUID();
  return { actor: 'user-of-ngo-it', organisation: 'ngo-it', correlationId: id, causationId: null, requestId: `req-${id.slice(0, 8)}` };
}

/** The HTTP body of POST /v1/cases, personal data included (the vault encrypts it). */
export function notifyBody(n: number): Record<string, unknown> {
  return {
    situation: SITUATIONS[n % SITUATIONS.length],
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
      narrative: 'Recruited with a promise of farm work; documents kept by the employer.',
    },
  };
}
