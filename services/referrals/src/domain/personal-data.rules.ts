import type { InformationItem, OrganisationType } from '@trm/contracts';
import type { CaseState } from './case.state.js';

/**
 * Which personal-data items of a case an organisation may read now, decided from the case
 * stream alone (so a withdrawal takes effect on the very next request). The read route, and the
 * answer to a request for information (which may replace only what its author can read), both
 * ask this one function.
 */
export type PersonalDataAccess =
  | { allowed: true; fields: 'all' | InformationItem[] }
  | { allowed: false; code: 'purpose-not-allowed' | 'consent-required'; unmet: string[] };

/** The organisations that coordinate the case file. */
const COORDINATING = new Set(['national_contact_point', 'regional_centre']);

/** What each other purpose needs, and nothing more. */
export const FIELDS_BY_PURPOSE: Partial<Record<string, readonly InformationItem[]>> = {
  service_provision: ['givenName', 'familyName', 'contacts'],
  child_protection: ['givenName', 'familyName', 'otherNames', 'birthDate', 'birthPlace', 'contacts', 'documents', 'health'],
  travel_documents: ['givenName', 'familyName', 'otherNames', 'birthDate', 'birthPlace', 'documents'],
  return: ['givenName', 'familyName', 'birthDate', 'contacts', 'documents'],
};

const hasSharingConsent = (state: CaseState, orgId: string) =>
  Object.values(state.consents).some((c) => c.purpose === 'sharing' && c.sharingWith === orgId);

/** A provider reads the contact data of its own open referral only while the person's consent to share with it stands. */
export function providerNeedsContactData(state: CaseState, orgId: string): boolean {
  const open = Object.values(state.referrals).some((x) => x.providerOrgId === orgId && (x.status === 'made' || x.status === 'accepted'));
  return hasSharingConsent(state, orgId) && open && !state.closed;
}

/**
 * `orgType` is the reader's registered type (the token's). Law enforcement never acts on the
 * victim's side: whatever purpose it holds, even as the notifying organisation, it reads the
 * items it submitted itself and, only with the person's consent to share with it, what a
 * notifier reads.
 */
export function personalDataAccessOf(state: CaseState, orgId: string, orgType: OrganisationType | null): PersonalDataAccess {
  const purposes = state.participants.filter((p) => p.organisationId === orgId).map((p) => p.purpose);
  if (purposes.some((p) => COORDINATING.has(p))) return { allowed: true, fields: 'all' };
  const lawEnforcement = orgType === 'law_enforcement' || (state.notifyingOrganisationId === orgId && state.notifyingOrganisationType === 'law_enforcement');
  if (lawEnforcement) {
    if (hasSharingConsent(state, orgId) && purposes.includes('notifier')) return { allowed: true, fields: 'all' };
    const own = state.submittedItems[orgId] ?? [];
    if (own.length > 0) return { allowed: true, fields: [...own].sort() };
    return { allowed: false, code: 'consent-required', unmet: ['consent-for-sharing-missing'] };
  }
  if (purposes.includes('notifier')) return { allowed: true, fields: 'all' };
  const possible = purposes.flatMap((p) => FIELDS_BY_PURPOSE[p] ?? []);
  if (possible.length === 0) return { allowed: false, code: 'purpose-not-allowed', unmet: [] };
  if (!hasSharingConsent(state, orgId)) return { allowed: false, code: 'consent-required', unmet: ['consent-for-sharing-missing'] };
  const fields = new Set<InformationItem>();
  for (const p of purposes) {
    // A provider needs the contact data only to deliver an open referral of its own.
    if (p === 'service_provision' && !providerNeedsContactData(state, orgId)) continue;
    for (const f of FIELDS_BY_PURPOSE[p] ?? []) fields.add(f);
  }
  if (fields.size === 0) return { allowed: false, code: 'purpose-not-allowed', unmet: ['open-referral-missing'] };
  return { allowed: true, fields: [...fields].sort() };
}

/** Whether `orgId` may read `item` now. */
export function mayRead(access: PersonalDataAccess, item: InformationItem): boolean {
  return access.allowed && (access.fields === 'all' || access.fields.includes(item));
}
