import { InformationItem, type LegalBasis, type OrganisationType, type ParticipantPurpose } from '@trm/contracts';
import { type CaseState, consentKey, coordinatorsOf } from './case.state.js';

/**
 * Which personal-data items of a case an organisation may read now, and on which legal basis,
 * decided from the case stream alone (so a withdrawal takes effect on the very next request). The
 * basis is the rules', never the caller's: the read route records it in `PersonalDataAccessed`,
 * and the answer to a request for information (which may replace only what its author can read)
 * asks the same function.
 *
 * Bases, in the order they are tried for each item (the first that applies is recorded):
 * 1. `collected_by_reader`: the item holds only values the reader put in the file itself
 *    (notification, its own answers). Another organisation's answer replacing it, or adding to it,
 *    ends this basis for the item.
 * 2. `statutory_coordination`: the reader is the contact point the case was addressed to (it
 *    coordinates) or the regional centre it assigned: `COORDINATION_FIELDS`.
 * 3. `statutory_child_protection`: the reader takes part as child protection on a child's case:
 *    what child protection needs.
 * 4. `consent`: the person's consent to share with the reader is in force: what the reader's
 *    purposes need (`FIELDS_BY_PURPOSE`; a provider only for an open referral of its own).
 * Law enforcement never acts on the victim's side: it reads on `collected_by_reader` and, with the
 * person's consent to share with it, on `consent` (as notifier what a notifier reads; as a
 * `law_enforcement` participant what identification needs), never on a statutory basis.
 * Items with no basis are withheld (the read answers their names in `withheld`).
 */
export type PersonalDataAccess =
  | { allowed: true; fields: InformationItem[]; bases: Partial<Record<InformationItem, LegalBasis>> }
  | { allowed: false; code: 'purpose-not-allowed' | 'consent-required'; unmet: string[] };

const ALL_ITEMS: readonly InformationItem[] = InformationItem.options;

/**
 * What coordinating the case needs without the person's consent: who the person is, how to reach
 * them, their documents and what happened. Health (special category data, GDPR Art. 9) only with
 * consent, or when the contact point collected it itself.
 */
export const COORDINATION_FIELDS: readonly InformationItem[] = ['givenName', 'familyName', 'otherNames', 'birthDate', 'birthPlace', 'contacts', 'documents', 'narrative'];

/** With the person's consent to share with the reader: what each purpose needs, and nothing more. */
export const FIELDS_BY_PURPOSE: Partial<Record<ParticipantPurpose, readonly InformationItem[]>> = {
  notifier: ALL_ITEMS,
  // The coordinating contact point adds health with consent; a further contact point (joined
  // with the person's consent to share with it) reads the file.
  national_contact_point: ALL_ITEMS,
  regional_centre: ALL_ITEMS,
  service_provision: ['givenName', 'familyName', 'contacts'],
  child_protection: ['givenName', 'familyName', 'otherNames', 'birthDate', 'birthPlace', 'contacts', 'documents', 'health'],
  travel_documents: ['givenName', 'familyName', 'otherNames', 'birthDate', 'birthPlace', 'documents'],
  return: ['givenName', 'familyName', 'birthDate', 'contacts', 'documents'],
  law_enforcement: ['givenName', 'familyName', 'otherNames', 'birthDate', 'birthPlace', 'documents'],
};

/** Purposes on which law enforcement may read with consent (never the victim's side). */
const LAW_ENFORCEMENT_PURPOSES: readonly ParticipantPurpose[] = ['notifier', 'law_enforcement'];

export const hasSharingConsent = (state: CaseState, orgId: string): boolean => state.consents[consentKey('sharing', orgId)] !== undefined;

/** A provider reads the contact data of its own open referral only while the person's consent to share with it stands. */
export function providerNeedsContactData(state: CaseState, orgId: string): boolean {
  const open = Object.values(state.referrals).some((x) => x.providerOrgId === orgId && (x.status === 'made' || x.status === 'accepted'));
  return hasSharingConsent(state, orgId) && open && !state.closed;
}

/** Items holding only `orgId`'s own values. */
export function collectedByReader(state: CaseState, orgId: string): InformationItem[] {
  return ALL_ITEMS.filter((item) => {
    const by = state.collectedBy[item];
    return by !== undefined && by.length === 1 && by[0] === orgId;
  });
}

/**
 * `orgType` is the reader's registered type (the token's). A law-enforcement notifier is law
 * enforcement whatever its token says about the case.
 */
export function personalDataAccessOf(state: CaseState, orgId: string, orgType: OrganisationType | null): PersonalDataAccess {
  const purposes = [...new Set(state.participants.filter((p) => p.organisationId === orgId).map((p) => p.purpose))];
  const lawEnforcement = orgType === 'law_enforcement' || (state.notifyingOrganisationId === orgId && state.notifyingOrganisationType === 'law_enforcement');
  const bases: Partial<Record<InformationItem, LegalBasis>> = {};
  const grant = (items: readonly InformationItem[], basis: LegalBasis) => {
    for (const item of items) bases[item] ??= basis;
  };

  grant(collectedByReader(state, orgId), 'collected_by_reader');
  if (!lawEnforcement) {
    if (coordinatorsOf(state).includes(orgId)) grant(COORDINATION_FIELDS, 'statutory_coordination');
    if (state.minor && purposes.includes('child_protection')) grant(FIELDS_BY_PURPOSE.child_protection!, 'statutory_child_protection');
  }
  const consentPurposes = lawEnforcement ? purposes.filter((p) => LAW_ENFORCEMENT_PURPOSES.includes(p)) : purposes;
  const consented = hasSharingConsent(state, orgId);
  if (consented) {
    for (const p of consentPurposes) {
      // A provider needs the contact data only to deliver an open referral of its own.
      if (p === 'service_provision' && !providerNeedsContactData(state, orgId)) continue;
      grant(FIELDS_BY_PURPOSE[p] ?? [], 'consent');
    }
  }

  const fields = ALL_ITEMS.filter((item) => bases[item] !== undefined);
  if (fields.length > 0) return { allowed: true, fields: [...fields].sort(), bases };
  const couldWithConsent = consentPurposes.some((p) => (FIELDS_BY_PURPOSE[p]?.length ?? 0) > 0);
  if (couldWithConsent && !consented) return { allowed: false, code: 'consent-required', unmet: ['consent-for-sharing-missing'] };
  if (consentPurposes.includes('service_provision')) return { allowed: false, code: 'purpose-not-allowed', unmet: ['open-referral-missing'] };
  return { allowed: false, code: 'purpose-not-allowed', unmet: [] };
}

/** Whether the reader may read `item` now. */
export function mayRead(access: PersonalDataAccess, item: InformationItem): boolean {
  return access.allowed && access.bases[item] !== undefined;
}

/** The bases of the fields read, grouped (basis order fixed, fields sorted): what `PersonalDataAccessed` records. */
export function legalBasesOf(access: PersonalDataAccess, read: readonly string[]): Array<{ basis: LegalBasis; fields: InformationItem[] }> {
  if (!access.allowed) return [];
  const order: LegalBasis[] = ['collected_by_reader', 'statutory_coordination', 'statutory_child_protection', 'consent'];
  const out: Array<{ basis: LegalBasis; fields: InformationItem[] }> = [];
  for (const basis of order) {
    const fields = ALL_ITEMS.filter((f) => read.includes(f) && access.bases[f] === basis).sort();
    if (fields.length > 0) out.push({ basis, fields });
  }
  return out;
}
