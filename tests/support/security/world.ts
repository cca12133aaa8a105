import type { OrgType, Role } from '@trm/platform';
import { expect } from 'vitest';
import { type SecurityStack, until } from './stack.js';

/**
 * Organisations registered before any case exists, that take part in none: the attackers of the
 * authorization matrix. `foreign-ncp` is a regional centre of the victim's own contact point that
 * was never assigned, the closest an outsider gets.
 */
export const FOREIGN_ORGS: Record<string, { type: OrgType; country: string; parentId?: string }> = {
  'foreign-ncp': { type: 'national_contact_point', country: 'RO', parentId: 'anitp' },
  'foreign-ngo': { type: 'ngo', country: 'IT' },
  'foreign-police': { type: 'law_enforcement', country: 'IT' },
  'foreign-consulate': { type: 'consulate', country: 'IT' },
  'foreign-iom': { type: 'international_organisation', country: 'IT' },
  'foreign-provider': { type: 'service_provider', country: 'IT' },
  'foreign-dgaspc': { type: 'child_protection', country: 'RO' },
  'foreign-auditor': { type: 'auditor', country: 'RO' },
  'foreign-stats': { type: 'statistics_consumer', country: 'RO' },
};

/** The foreign organisation whose type naturally holds each role (plus foreign-ncp for all). */
export const FOREIGN_BY_ROLE: Record<Role, string> = {
  notifier: 'foreign-ngo',
  case_officer: 'foreign-police',
  consular_officer: 'foreign-consulate',
  service_provider: 'foreign-provider',
  child_protection_officer: 'foreign-dgaspc',
  proceedings_coordinator: 'foreign-ngo',
  auditor: 'foreign-auditor',
  statistics_reader: 'foreign-stats',
  admin: 'foreign-iom',
};

export async function registerForeignOrganisations(stack: SecurityStack): Promise<void> {
  for (const [id, org] of Object.entries(FOREIGN_ORGS)) await stack.registerOrganisation({ id, ...org, parentId: org.parentId ?? null });
}

export interface World {
  caseId: string;
  returnId: string;
  referralId: string;
  informationRequestId: string;
  criminalCaseId: string;
  assessmentId: string;
}

type Json = Record<string, unknown>;

export async function call(stack: SecurityStack, token: string | undefined, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) {
  return stack.app.inject({
    method,
    url,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    ...(payload === undefined ? {} : { payload: payload as Json }),
  });
}

export async function ok(stack: SecurityStack, token: string, url: string, payload: unknown): Promise<Json> {
  const res = await call(stack, token, 'POST', url, payload);
  expect(res.statusCode, `POST ${url}: ${res.body}`).toBeLessThan(300);
  return res.json() as Json;
}

/**
 * One case that every service knows: notified by ngo-it, acknowledged by ANITP with its Bucharest
 * centre, the consulate, IOM and a shelter taking part, consents given, a service referral, a
 * return and proceedings with a criminal case whose reference sits in the proceedings vault.
 */
export async function buildWorld(stack: SecurityStack, person: Json): Promise<World> {
  const ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  const anitp = await stack.token('anitp', ['case_officer', 'proceedings_coordinator']);
  const iom = await stack.token('iom-it', ['case_officer']);

  const created = await ok(stack, ngo, '/v1/cases', {
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
    person,
  });
  const caseId = String(created.caseId);
  const c = `/v1/cases/${caseId}`;
  await ok(stack, anitp, `${c}/acknowledgement`, { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', regionalCentreId: 'anitp-rc-bucharest' });
  await ok(stack, anitp, `${c}/participants`, { organisationId: 'consulate-ro-it', purpose: 'travel_documents' });
  await ok(stack, anitp, `${c}/participants`, { organisationId: 'iom-it', purpose: 'return' });
  for (const consent of [
    { purpose: 'assistance', givenOn: '2026-11-19' },
    { purpose: 'sharing', sharingWith: 'provider-shelter', givenOn: '2026-11-19' },
    { purpose: 'return', givenOn: '2026-11-19' },
  ]) {
    await ok(stack, ngo, `${c}/consents`, consent);
  }
  const referral = await ok(stack, anitp, `${c}/service-referrals`, { service: 'shelter', providerOrganisationId: 'provider-shelter' });
  const asked = await ok(stack, anitp, `${c}/information-requests`, { requestedFrom: 'ngo-it', items: ['birthDate'] });

  const returned = await until('repatriation to learn the case and the consent to return', async () => {
    const res = await call(stack, ngo, 'POST', '/v1/returns', { caseId, plannedDepartureDate: '2026-12-10', needs: ['shelter'], escortRequired: false, travelDocumentNeeded: true });
    return res.statusCode === 201 ? (res.json() as Json) : undefined;
  });
  const returnId = String(returned.returnId);
  const assessed = await ok(stack, iom, `/v1/returns/${returnId}/risk-assessments`, {
    assessedOn: '2026-11-20',
    level: 'low',
    factors: ['no_income'],
    recommendation: 'proceed',
  });

  await until('proceedings to learn the case', async () => (await call(stack, anitp, 'GET', `/v1/proceedings/${caseId}`)).statusCode === 200);
  await ok(stack, anitp, `/v1/proceedings/${caseId}/participation`, { consentedOn: '2026-11-20' });
  const linked = await ok(stack, anitp, `/v1/proceedings/${caseId}/criminal-cases`, {
    country: 'IT',
    authorityType: 'prosecutor',
    offence: 'trafficking_in_persons',
    stage: 'investigation',
    reference: `RGNR ${String(person.familyName ?? 'x')}/2026`,
  });

  return {
    caseId,
    returnId,
    referralId: idOf(referral, 'referralId'),
    informationRequestId: idOf(asked, 'informationRequestId'),
    criminalCaseId: idOf((linked.created ?? {}) as Json, 'criminalCaseId'),
    assessmentId: idOf((assessed.riskAssessments as Json[]).at(-1) ?? {}, 'assessmentId'),
  };
}

/** Creating answers name the new id `id` or after what they create. */
function idOf(body: Json, name: string): string {
  const id = body[name] ?? body.id;
  if (typeof id !== 'string') throw new Error(`no ${name} in ${JSON.stringify(Object.keys(body))}`);
  return id;
}
