import type { InformationItem } from '@trm/contracts';
import type { CaseState } from '../domain/case.state.js';
import { providerMayReadContactData } from './case-views.js';
import { ProblemError } from '@trm/platform';

/** The organisations that hold the case file read all of it. */
const FULL_READERS = new Set(['notifier', 'national_contact_point', 'regional_centre']);

/** What each other purpose needs, and nothing more. */
const FIELDS_BY_PURPOSE: Partial<Record<string, readonly InformationItem[]>> = {
  service_provision: ['givenName', 'familyName', 'contacts'],
  child_protection: ['givenName', 'familyName', 'otherNames', 'birthDate', 'birthPlace', 'contacts', 'documents', 'health'],
  travel_documents: ['givenName', 'familyName', 'otherNames', 'birthDate', 'birthPlace', 'documents'],
  return: ['givenName', 'familyName', 'birthDate', 'contacts', 'documents'],
};

/**
 * Fields `orgId` may decrypt now. Anyone outside the file holders relies on the person's consent
 * to share with them, read from the current state of the stream, so a withdrawal takes effect on
 * the very next read.
 */
export function personalDataAccess(state: CaseState, orgId: string): 'all' | InformationItem[] {
  const purposes = state.participants.filter((p) => p.organisationId === orgId).map((p) => p.purpose);
  if (purposes.some((p) => FULL_READERS.has(p))) return 'all';
  const possible = purposes.flatMap((p) => FIELDS_BY_PURPOSE[p] ?? []);
  if (possible.length === 0) {
    throw new ProblemError(403, 'purpose-not-allowed', 'Your organisation does not take part in this case for a purpose that needs personal data.');
  }
  const consent = Object.values(state.consents).some((c) => c.purpose === 'sharing' && c.sharingWith === orgId);
  if (!consent) {
    throw new ProblemError(403, 'consent-required', 'The person has not consented, or no longer consents, to share personal data with your organisation.', {
      unmet: ['consent-for-sharing-missing'],
    });
  }
  const fields = new Set<InformationItem>();
  for (const p of purposes) {
    // A provider needs the contact data only to deliver an open referral of its own.
    if (p === 'service_provision' && !providerMayReadContactData(state, orgId)) continue;
    for (const f of FIELDS_BY_PURPOSE[p] ?? []) fields.add(f);
  }
  if (fields.size === 0) {
    throw new ProblemError(403, 'purpose-not-allowed', 'No open referral of yours needs the personal data of this case.', { unmet: ['open-referral-missing'] });
  }
  return [...fields].sort();
}
