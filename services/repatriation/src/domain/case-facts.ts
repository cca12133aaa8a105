import { type IsoDate, type OrganisationType, mayBeMinor } from '@trm/contracts';

/**
 * What repatriation knows of a case, learnt only from referrals events on the bus. Handlers pass
 * a snapshot with every command so that gates stay decisions of a pure function.
 */
export interface CaseFacts {
  caseId: string;
  notifyingOrganisationId: string;
  nationalContactPointIds: string[];
  regionalCentreId: string | null;
  /** Organisations added with a purpose (travel_documents, child_protection, return…). */
  participants: Array<{ organisationId: string; purpose: string }>;
  /** Consent to return recorded and not withdrawn. */
  returnConsent: boolean;
  /** Who gave it (person, guardian, parent); null or absent: not recorded. For a child only the guardian's or a parent's counts. */
  returnConsentGivenBy?: string | null;
  minor: boolean;
  /**
   * Why the case is a child's, as referrals says (issue 17): `presumed` (age unknown or uncertain)
   * is a child whatever the dates; `assessed` is child protection's age assessment, which decides
   * (also when it found an adult); `declared` or absent: the age facts decide.
   */
  minorBasis?: string | null;
  birthYear: number | null;
  ageAtIdentification: number | null;
  identificationDate: IsoDate;
  notifiedAt: string;
  /** Risk flags raised in referrals (RiskFlagRaised): a threat or re-trafficking blocks departure until the origin reassesses. */
  riskFlags?: Array<{ kind: string; raisedAt: string }>;
  /**
   * Whether repatriation has applied every event referrals holds for the case (read by the
   * departure handler: `false` means a flag or a withdrawal may be in flight). Absent: not checked.
   */
  current?: boolean;
}

/** Time and identity arrive with the command, with the case as repatriation last learnt it. */
export interface CommandMetadata {
  now: Date;
  actor: string;
  organisationId: string;
  organisationType: OrganisationType;
  case: CaseFacts;
}

export function hasPurpose(facts: CaseFacts, orgId: string, purpose: string): boolean {
  return facts.participants.some((p) => p.organisationId === orgId && p.purpose === purpose);
}

export function isNationalContactPoint(facts: CaseFacts, orgId: string): boolean {
  return facts.nationalContactPointIds.includes(orgId) || facts.regionalCentreId === orgId;
}

/** The destination partner: the organisation that notified the case, or one taking part for the return (IOM). */
export function isDestinationPartner(facts: CaseFacts, orgId: string): boolean {
  return facts.notifyingOrganisationId === orgId || hasPurpose(facts, orgId, 'return');
}

export function isChildProtection(facts: CaseFacts, orgId: string): boolean {
  return hasPurpose(facts, orgId, 'child_protection');
}

export function isCaseParticipant(facts: CaseFacts, orgId: string): boolean {
  return isNationalContactPoint(facts, orgId) || facts.notifyingOrganisationId === orgId || facts.participants.some((p) => p.organisationId === orgId);
}

function fullYearsBetween(from: IsoDate, to: IsoDate): number {
  const years = Number(to.slice(0, 4)) - Number(from.slice(0, 4));
  return to.slice(5) < from.slice(5) ? years - 1 : years;
}

/**
 * Under 18 on `date`, read on the younger side whenever the age is uncertain (Convention
 * Art. 10(3): a possible child is treated as a child): with a birth year, the birthday may not
 * have come yet; with an age at identification, only the full years since then are added.
 */
export function isChildOn(facts: Pick<CaseFacts, 'birthYear' | 'ageAtIdentification' | 'identificationDate' | 'minor' | 'minorBasis'>, date: IsoDate): boolean {
  // Presumption of minority (CETS 197 Art. 10(3)): a child until child protection assesses the age, which then decides.
  if (facts.minorBasis === 'presumed') return true;
  if (facts.minorBasis === 'assessed') return facts.minor;
  if (facts.birthYear !== null) {
    if (facts.birthYear > Number(date.slice(0, 4))) return true;
    return mayBeMinor(facts.birthYear, date);
  }
  if (facts.ageAtIdentification !== null) {
    return facts.ageAtIdentification + Math.max(0, fullYearsBetween(facts.identificationDate, date)) < 18;
  }
  return facts.minor;
}
