import { sql } from 'kysely';
import type { AccessPurpose, OrganisationType } from '@trm/contracts';
import type { Role } from '@trm/platform';
import { type SecurityStack, until } from './stack.js';
import { call, ok, type World } from './world.js';

type Json = Record<string, unknown>;

/** Organisations registered for this world, beside the demo ones. */
export const EXTRA_ORGS: Record<string, { type: OrganisationType; country: string }> = {
  'police-escort': { type: 'law_enforcement', country: 'IT' },
  'provider-psych': { type: 'service_provider', country: 'IT' },
  'provider-ro-shelter': { type: 'service_provider', country: 'RO' },
  'ngo-ro-legal': { type: 'ngo', country: 'RO' },
  'iom-removed': { type: 'international_organisation', country: 'IT' },
  'stranger-ngo': { type: 'ngo', country: 'IT' },
};

/**
 * One organisation for each purpose, and what it holds in the case (an organisation may hold
 * several: the escort police unit is also law enforcement, the receiving shelter a provider).
 */
export const PURPOSE_ORGS: Record<AccessPurpose, string> = {
  coordination: 'anitp',
  notifier: 'ngo-it',
  child_protection: 'dgaspc-bucharest',
  service_provision: 'provider-shelter',
  travel_documents: 'consulate-ro-it',
  return: 'iom-it',
  escort: 'police-escort',
  reception: 'provider-ro-shelter',
  proceedings_support: 'ngo-ro-legal',
  law_enforcement: 'police-it',
};

/** Every participant's purposes as the matrix names them (referrals knows no escort or reception). */
export const ORG_PURPOSES: Record<string, { referrals: AccessPurpose[]; returns: AccessPurpose[] }> = {
  anitp: { referrals: ['coordination'], returns: ['coordination'] },
  'anitp-rc-bucharest': { referrals: ['coordination'], returns: ['coordination'] },
  'ngo-it': { referrals: ['notifier'], returns: ['notifier'] },
  'dgaspc-bucharest': { referrals: ['child_protection'], returns: ['child_protection'] },
  'provider-shelter': { referrals: ['service_provision'], returns: ['service_provision'] },
  'provider-psych': { referrals: ['service_provision'], returns: ['service_provision'] },
  'consulate-ro-it': { referrals: ['travel_documents'], returns: ['travel_documents'] },
  'iom-it': { referrals: ['return'], returns: ['return'] },
  'police-escort': { referrals: ['law_enforcement'], returns: ['law_enforcement', 'escort'] },
  'provider-ro-shelter': { referrals: ['service_provision'], returns: ['service_provision', 'reception'] },
  'ngo-ro-legal': { referrals: ['proceedings_support'], returns: ['proceedings_support'] },
  'police-it': { referrals: ['law_enforcement'], returns: ['law_enforcement'] },
};

/** Removed from the case after the return was requested; and one that never took part. */
export const REMOVED_ORG = 'iom-removed';
export const STRANGER_ORG = 'stranger-ngo';

export interface PurposeWorld extends World {
  /** Answers captured on the way, before departure. */
  beforeDeparture: Record<string, Json>;
  /** The answer to child protection's reception command (a travel plan existed by then). */
  receptionAnswer: Json;
  psychReferralId: string;
}

export async function registerExtraOrganisations(stack: SecurityStack): Promise<void> {
  for (const [id, org] of Object.entries(EXTRA_ORGS)) await stack.registerOrganisation({ id, ...org, parentId: null });
}

const ALL_ROLES_BUT_ADMIN: Role[] = ['notifier', 'case_officer', 'consular_officer', 'service_provider', 'child_protection_officer', 'proceedings_coordinator'];

async function returnAs(stack: SecurityStack, org: string, returnId: string): Promise<Json> {
  const res = await call(stack, await stack.token(org, ALL_ROLES_BUT_ADMIN), 'GET', `/v1/returns/${returnId}`);
  return { status: res.statusCode, body: res.json() as Json };
}

/**
 * A child's case notified by ngo-it in Italy, coordinated by ANITP and its Bucharest centre, in
 * which every purpose takes part: child protection, a shelter and a psychological provider with
 * their referrals, the consulate, IOM for the return, a police unit, a police escort, a receiving
 * shelter in Romania, an NGO supporting proceedings, and IOM's second office, removed later. The
 * return goes all the way: arrival, hand-over and the first follow-up. Proceedings are open.
 */
export async function buildPurposeWorld(stack: SecurityStack): Promise<PurposeWorld> {
  const ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  const anitp = await stack.token('anitp', ['case_officer', 'proceedings_coordinator']);
  const iom = await stack.token('iom-it', ['case_officer', 'notifier']);
  const consul = await stack.token('consulate-ro-it', ['consular_officer']);
  const dgaspc = await stack.token('dgaspc-bucharest', ['child_protection_officer']);
  const shelter = await stack.token('provider-shelter', ['service_provider']);
  const psych = await stack.token('provider-psych', ['service_provider']);
  const roShelter = await stack.token('provider-ro-shelter', ['case_officer', 'service_provider']);

  const created = await ok(stack, ngo, '/v1/cases', {
    situation: 'child_victim',
    countryOfIdentification: 'IT',
    countryOfExploitation: 'IT',
    identificationDate: '2026-11-18',
    formsOfExploitation: ['forced_begging'],
    sex: 'female',
    age: 16,
    citizenship: 'RO',
    traffickedAcrossBorders: true,
    recruiterRelation: 'family_member',
    returnWanted: true,
    plannedReturnDate: '2026-12-10',
    person: { givenName: 'Ioana', familyName: 'Testescu' },
  });
  const caseId = String(created.caseId);
  const c = `/v1/cases/${caseId}`;
  await ok(stack, anitp, `${c}/acknowledgement`, { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', regionalCentreId: 'anitp-rc-bucharest' });
  for (const [organisationId, purpose] of [
    ['consulate-ro-it', 'travel_documents'],
    ['iom-it', 'return'],
    ['iom-removed', 'return'],
    ['dgaspc-bucharest', 'child_protection'],
    ['police-it', 'law_enforcement'],
    ['police-escort', 'law_enforcement'],
    ['provider-ro-shelter', 'service_provision'],
    ['ngo-ro-legal', 'proceedings_support'],
  ]) {
    await ok(stack, anitp, `${c}/participants`, { organisationId, purpose });
  }
  // Child protection joined the child's case at notification: it acknowledges (its deadline is met).
  await ok(stack, dgaspc, `${c}/child-protection/acknowledgement`, {});
  for (const consent of [
    { purpose: 'assistance', givenOn: '2026-11-19' },
    { purpose: 'sharing', sharingWith: 'provider-shelter', givenOn: '2026-11-19' },
    { purpose: 'sharing', sharingWith: 'provider-psych', givenOn: '2026-11-19' },
    { purpose: 'return', givenOn: '2026-11-19' },
    { purpose: 'research', givenOn: '2026-11-19' },
  ]) {
    // A child's consent: the appointed guardian, with the child's views (the recruiter is family: no parent).
    await ok(stack, ngo, `${c}/consents`, { ...consent, givenBy: 'guardian', childViews: 'agrees' });
  }
  await ok(stack, ngo, `${c}/consents/withdrawal`, { purpose: 'research', withdrawnOn: '2026-11-20' });
  const referral = await ok(stack, anitp, `${c}/service-referrals`, { service: 'shelter', providerOrganisationId: 'provider-shelter' });
  const psychReferral = await ok(stack, anitp, `${c}/service-referrals`, { service: 'psychological', providerOrganisationId: 'provider-psych' });
  const referralId = String(referral.id);
  const psychReferralId = String(psychReferral.id);
  await ok(stack, shelter, `${c}/service-referrals/${referralId}/acceptance`, {});
  await ok(stack, psych, `${c}/service-referrals/${psychReferralId}/acceptance`, {});
  await ok(stack, psych, `${c}/risk-flags`, { kind: 'lost_contact', level: 'medium' });
  await ok(stack, dgaspc, `${c}/monitoring-contacts`, { contactedOn: '2026-11-20', channel: 'phone', wellbeing: 'stable' });
  const asked = await ok(stack, anitp, `${c}/information-requests`, { requestedFrom: 'ngo-it', items: ['birthDate'] });

  // Repatriation learns the case, its participants and the consent to return from the bus.
  const requested = await until('repatriation to learn the case', async () => {
    const res = await call(stack, ngo, 'POST', '/v1/returns', { caseId, plannedDepartureDate: '2026-12-10', needs: ['shelter', 'psychological'], escortRequired: true, travelDocumentNeeded: true });
    return res.statusCode === 201 ? (res.json() as Json) : undefined;
  });
  const returnId = String(requested.returnId);
  const r = `/v1/returns/${returnId}`;
  await ok(stack, anitp, `${r}/acknowledgement`, { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa' });
  const assessed = await ok(stack, iom, `${r}/risk-assessments`, {
    assessedOn: '2026-11-20',
    level: 'medium',
    factors: ['threat_from_traffickers', 'family_involved_in_trafficking'],
    recommendation: 'proceed_with_measures',
    measures: ['escort', 'shelter_on_arrival'],
  });
  const assessmentId = String((assessed.riskAssessments as Json[]).at(-1)?.assessmentId);
  await ok(stack, anitp, `${r}/risk-assessments/${assessmentId}/comment`, { concurs: true, additionalFactors: ['stigma'] });
  // The origin's own assessment governs the return (issue 17).
  await ok(stack, anitp, `${r}/risk-assessments`, {
    assessedOn: '2026-11-20',
    level: 'medium',
    factors: ['threat_from_traffickers', 'family_involved_in_trafficking'],
    recommendation: 'proceed_with_measures',
    measures: ['escort', 'shelter_on_arrival'],
  });
  await ok(stack, ngo, `${r}/travel-document/request`, { consulateId: 'consulate-ro-it' });
  await ok(stack, consul, `${r}/travel-document/issue`, { documentType: 'single_trip_travel_title', validFrom: '2026-11-25', validUntil: '2026-12-25' });
  await ok(stack, ngo, `${r}/travel-plan`, {
    departureDate: '2026-12-10',
    mode: 'air',
    departureCountry: 'IT',
    transitCountries: ['AT'],
    escortOrganisationId: 'police-escort',
    pointOfArrival: 'Bucharest OTP airport',
  });
  const receptionAnswer = await ok(stack, dgaspc, `${r}/reception`, { receivingOrganisationId: 'provider-ro-shelter', pointOfArrival: 'Bucharest OTP airport' });
  await ok(stack, dgaspc, `${r}/guardian`, { appointedOn: '2026-11-20' });
  await ok(stack, dgaspc, `${r}/best-interests-determination`, { determinedOn: '2026-11-20', returnInBestInterests: true });
  await ok(stack, dgaspc, `${r}/family-assessment`, { assessedOn: '2026-11-20', outcome: 'suitable_with_support' });

  // IOM's second office leaves the case; repatriation must have learnt it before the attacks.
  await ok(stack, anitp, `${c}/participants/removal`, { organisationId: 'iom-removed', purpose: 'return' });
  await until('repatriation to learn the removal', async () => {
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from repatriation.case_participants where case_id = ${caseId} and organisation_id = 'iom-removed'`.execute(stack.db);
    return rows[0]?.n === '0';
  });

  const beforeDeparture: Record<string, Json> = {};
  for (const org of Object.keys(ORG_PURPOSES)) beforeDeparture[org] = await returnAs(stack, org, returnId);

  // Proceedings, for the routes of that service.
  await until('proceedings to learn the case', async () => (await call(stack, anitp, 'GET', `/v1/proceedings/${caseId}`)).statusCode === 200);
  await ok(stack, anitp, `/v1/proceedings/${caseId}/participation`, { consentedOn: '2026-11-20' });
  const linked = await ok(stack, anitp, `/v1/proceedings/${caseId}/criminal-cases`, {
    country: 'IT',
    authorityType: 'prosecutor',
    offence: 'trafficking_in_persons',
    stage: 'investigation',
    reference: 'RGNR 1234/2026',
  });

  // The journey: departure on the planned day, transit, arrival and hand-over to the receiving
  // shelter, the first follow-up a month later.
  const start = stack.clock.now;
  try {
    stack.clock.now = new Date('2026-12-10T07:00:00.000Z');
    await ok(stack, ngo, `${r}/departure`, {});
    await ok(stack, ngo, `${r}/transits`, { country: 'AT' });
    stack.clock.now = new Date('2026-12-10T15:00:00.000Z');
    await ok(stack, roShelter, `${r}/arrival`, {});
    await ok(stack, roShelter, `${r}/handover`, { services: ['shelter', 'psychological'] });
    stack.clock.now = new Date('2027-01-12T10:00:00.000Z');
    await ok(stack, anitp, `${r}/follow-ups`, { afterDays: 30, situation: 'reintegrating' });
  } finally {
    stack.clock.now = start;
  }
  // The hand-over reaches referrals over the bus: wait for its referrals, so the world is quiet when the tests begin.
  await until('referrals to record the hand-over', async () => {
    const file = (await call(stack, anitp, 'GET', c)).json() as { referrals?: Array<{ returnId: string | null }> };
    return (file.referrals ?? []).filter((x) => x.returnId === returnId).length === 2;
  });

  const criminal = (linked.created ?? {}) as Json;
  return {
    caseId,
    returnId,
    referralId,
    psychReferralId,
    informationRequestId: String(asked.id),
    criminalCaseId: String(criminal.criminalCaseId ?? criminal.id),
    assessmentId,
    beforeDeparture,
    receptionAnswer,
  };
}
