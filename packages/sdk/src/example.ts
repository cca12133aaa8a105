/**
 * A partner's notification, as docs/integration.md shows it: compiled with the package, so the
 * example is checked against the generated types on every build.
 */
import { TrmProblem, createTrmClient } from './index.js';

export async function notifyFromPartner(baseUrl: string, token: string): Promise<string> {
  const trm = createTrmClient({ baseUrl, token });
  try {
    const { data } = await trm.POST('/v1/cases', {
      body: {
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
        person: { givenName: 'Ana', familyName: 'Example' },
      },
    });
    return data!.caseId;
  } catch (err) {
    if (err instanceof TrmProblem && err.status === 400) throw new Error(`fix the fields: ${err.errors?.map((e) => e.pointer).join(', ')}`);
    throw err;
  }
}
