import { describe, expect, it } from 'vitest';
import { factsOf } from './fact-events.js';

/** Issues 17 and 18 in statistics: new citizenships parse, and corrections and age assessments change the case's row. */
const base = { service: 'referrals', eventId: '019a0000-0000-7000-8000-0000000000c1', recordedAt: '2026-11-20T10:00:00.000Z' };
const notifiedV1 = {
  caseId: 'c1', situation: 'identified_by_international_ngo', notifyingOrganisationId: 'ngo-it', notifyingOrganisationType: 'ngo',
  countryOfIdentification: 'IT', countryOfExploitation: 'IT', identificationDate: '2026-11-18', formsOfExploitation: ['forced_labour'],
  sex: 'female', ageAtIdentification: 19, birthYear: null, ageBand: '18-25', minor: false, citizenship: 'RO', traffickedAcrossBorders: true,
  recruiterRelation: 'stranger', returnWanted: false, plannedReturnDate: null, nationalContactPointIds: ['anitp'], personalDataFields: [],
  notifiedAt: '2026-11-20T10:00:00.000Z', acknowledgementDueAt: '2026-11-22T10:00:00.000Z',
};
const v2 = { ...notifiedV1, addressedTo: 'anitp', internationalProtectionSought: false, fearsAuthoritiesOf: [] };
const rowOf = (out: ReturnType<typeof factsOf>) => (out.kind === 'changes' && out.changes[0]?.op === 'insert' ? out.changes[0].row : undefined);

describe('CaseNotified, old and new shapes', () => {
  it('parses version 1, version 2, and version 2 with XK, stateless, several citizenships and a presumed child', () => {
    expect(rowOf(factsOf({ ...base, type: 'CaseNotified', data: notifiedV1 }))).toMatchObject({ citizenship: 'RO', minor: false });
    expect(rowOf(factsOf({ ...base, type: 'CaseNotified', data: { ...v2, citizenship: 'XK' } }))).toMatchObject({ citizenship: 'XK' });
    expect(rowOf(factsOf({ ...base, type: 'CaseNotified', data: { ...v2, citizenship: 'stateless' } }))).toMatchObject({ citizenship: 'stateless' });
    const presumed = { ...v2, citizenships: ['RO', 'MD'], ageAtIdentification: null, ageBand: null, minor: true, minorBasis: 'presumed' };
    expect(rowOf(factsOf({ ...base, type: 'CaseNotified', data: presumed }))).toMatchObject({ citizenship: 'RO', minor: true, age_band: 'unknown' });
  });
});

describe('corrections and age assessments follow into the facts', () => {
  it('AttributesCorrected updates the corrected categories and minority', () => {
    const out = factsOf({
      ...base,
      type: 'AttributesCorrected',
      data: {
        caseId: 'c1', correctedBy: 'anitp', reason: 'document_verified', personalDataFields: ['familyName'], minor: true, minorBasis: 'declared', ageBand: '14-17', correctedAt: base.recordedAt,
        changes: [
          { attribute: 'birthYear', from: null, to: 2010 },
          { attribute: 'citizenship', from: ['RO'], to: ['MD', 'RO'] },
          { attribute: 'formsOfExploitation', from: ['forced_labour'], to: ['forced_begging'] },
          { attribute: 'situation', from: 'identified_by_international_ngo', to: 'child_victim' },
        ],
      },
    });
    expect(out).toEqual({
      kind: 'changes',
      changes: [{ op: 'update', table: 'case_facts', where: { case_id: 'c1' }, set: { minor: true, age_band: '14-17', citizenship: 'MD', primary_form: 'forced_begging', situation: 'child_victim' } }],
    });
  });

  it('AgeAssessed sets minority; an answer that changed minority does too, other answers change nothing', () => {
    const assessed = factsOf({ ...base, type: 'AgeAssessed', data: { caseId: 'c1', assessedBy: 'dgaspc-bucharest', method: 'interview', assessedOn: '2026-11-20', result: 'adult', estimatedAge: 20, ageBand: '18-25', minor: false } });
    expect(assessed).toEqual({ kind: 'changes', changes: [{ op: 'update', table: 'case_facts', where: { case_id: 'c1' }, set: { minor: false, age_band: '18-25' } }] });
    const answer = { caseId: 'c1', informationRequestId: 'r', providedBy: 'ngo-it', items: ['birthDate'], missingItems: [], completenessScore: 100, providedAt: base.recordedAt };
    expect(factsOf({ ...base, type: 'InformationProvided', data: answer })).toEqual({ kind: 'changes', changes: [] });
    expect(factsOf({ ...base, type: 'InformationProvided', data: { ...answer, birthYear: 2011, minor: true, minorBasis: 'presumed', ageBand: '14-17' } })).toEqual({
      kind: 'changes',
      changes: [{ op: 'update', table: 'case_facts', where: { case_id: 'c1' }, set: { minor: true, age_band: '14-17' } }],
    });
  });
});
