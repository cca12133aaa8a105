import type { ReferralSituation } from '@trm/contracts';
import type { CaseState } from './case.state.js';
import { consentKey, coordinatorsOf } from './case.state.js';

/**
 * Routing (issue 13, finding 3): which contact point a notification goes to, and which further
 * contact points may join a case. Pure functions of the case's facts and the registry's answer
 * about an organisation, so the HTTP route (which reads the registry) and the decider (which
 * decides) apply the same rules.
 */

/** A registered organisation as routing needs it (read from the registry before the command). */
export interface ContactPointRef {
  id: string;
  type: string;
  country: string;
  /** Set for a regional centre: the central contact point it belongs to. */
  parentOrgId: string | null;
  active: boolean;
}

const NO_COUNTRY = new Set(['stateless', 'unknown']);

export interface RoutingFacts {
  situation: ReferralSituation;
  /** A country code, or a value that names no country (`stateless`, `unknown`). */
  citizenship: string;
  /** Every citizenship, the primary (`citizenship`) first (RO + MD); absent: only `citizenship`. */
  citizenships?: readonly string[] | undefined;
  countryOfIdentification: string;
  internationalProtectionSought: boolean;
  fearsAuthoritiesOf: readonly string[];
}

/**
 * The country whose central contact point receives a notification that names none
 * (`addressedTo`): the victim's citizenship for a victim identified abroad, the country of
 * identification for a foreign victim identified there (situation `foreign_victim`) or for a
 * national identified at home, or for a person whose citizenship names no country (stateless,
 * unknown). A person who seeks international protection, or fears the authorities of the
 * country of citizenship, is never routed there: the country of identification coordinates.
 */
export function defaultAddresseeCountry(f: RoutingFacts): string {
  const all = allCitizenships(f);
  if (f.situation === 'foreign_victim' || all.includes(f.countryOfIdentification)) return f.countryOfIdentification;
  if (NO_COUNTRY.has(f.citizenship)) return f.countryOfIdentification;
  if (f.internationalProtectionSought || all.some((c) => f.fearsAuthoritiesOf.includes(c))) return f.countryOfIdentification;
  return f.citizenship;
}

function allCitizenships(f: Pick<RoutingFacts, 'citizenship' | 'citizenships'>): readonly string[] {
  return f.citizenships && f.citizenships.length > 0 ? f.citizenships : [f.citizenship];
}

/** What stops `cp` from coordinating a case with these facts (empty: it may). */
export function addresseeUnmet(f: RoutingFacts, cp: ContactPointRef): string[] {
  const unmet: string[] = [];
  if (cp.type !== 'national_contact_point') unmet.push('addressee-not-a-national-contact-point');
  else if (cp.parentOrgId !== null) unmet.push('addressee-not-a-central-contact-point');
  if (!cp.active) unmet.push('addressee-inactive');
  unmet.push(...protectionUnmet(f, cp.country));
  return unmet;
}

/** The contact points of a feared country never take part; neither does the citizenship's while international protection is sought. */
function protectionUnmet(f: Pick<RoutingFacts, 'citizenship' | 'citizenships' | 'internationalProtectionSought' | 'fearsAuthoritiesOf'>, country: string): string[] {
  const unmet: string[] = [];
  if (f.fearsAuthoritiesOf.includes(country)) unmet.push('victim-fears-authorities-of-country');
  if (f.internationalProtectionSought && allCitizenships(f).includes(country)) unmet.push('international-protection-sought');
  return unmet;
}

/**
 * What stops a further contact point (one the case was not addressed to, notably the one of a
 * foreign victim's own country) from joining: the person's consent to share with it, and never
 * while the case records that international protection is sought, never one of a country whose
 * authorities the person fears. Its fit (a central, active contact point) is checked as for any
 * participant.
 */
export function furtherContactPointUnmet(state: CaseState, cp: ContactPointRef): string[] {
  const unmet: string[] = [];
  if (coordinatorsOf(state).includes(cp.id)) unmet.push('contact-point-coordinates-the-case');
  if (!state.consents[consentKey('sharing', cp.id)]) unmet.push('consent-for-sharing-with-contact-point-missing');
  if (state.internationalProtectionSought) unmet.push('international-protection-sought');
  if (state.fearsAuthoritiesOf.includes(cp.country)) unmet.push('victim-fears-authorities-of-country');
  return unmet;
}

/** Whether `orgId` takes part as a further contact point (joined with consent, does not coordinate). */
export function isFurtherContactPoint(state: CaseState, orgId: string): boolean {
  return state.participants.some((p) => p.organisationId === orgId && p.purpose === 'national_contact_point') && !state.nationalContactPointIds.includes(orgId);
}

export { protectionUnmet };
