import { describe, expect, it } from 'vitest';
import { CaseNotifiedAnyVersion, CaseNotifiedData, upcastCaseNotified } from './referrals.events.js';

const v1 = {
  caseId: 'c',
  situation: 'identified_by_international_ngo',
  notifyingOrganisationId: 'ngo-it',
  notifyingOrganisationType: 'ngo',
  countryOfIdentification: 'IT',
  countryOfExploitation: 'IT',
  identificationDate: '2026-11-18',
  formsOfExploitation: ['forced_labour'],
  sex: 'female',
  ageAtIdentification: 24,
  birthYear: null,
  ageBand: '18-25',
  minor: false,
  citizenship: 'RO',
  traffickedAcrossBorders: true,
  recruiterRelation: 'friend_or_acquaintance',
  returnWanted: false,
  plannedReturnDate: null,
  nationalContactPointIds: ['anitp', 'ncp-it'],
  personalDataFields: ['givenName'],
  notifiedAt: '2026-11-20T10:00:00.000Z',
  acknowledgementDueAt: '2026-11-22T10:00:00.000Z',
};

describe('CaseNotified, schema versions', () => {
  it('reads a version 1 event as version 2 with the defaults, never rewriting it', () => {
    const expected = { ...v1, addressedTo: null, internationalProtectionSought: false, fearsAuthoritiesOf: [] };
    expect(upcastCaseNotified(v1, 1)).toEqual(expected);
    expect(upcastCaseNotified(v1)).toEqual(expected);
    expect(CaseNotifiedAnyVersion.parse(v1)).toEqual(expected);
    expect(v1).not.toHaveProperty('addressedTo');
    // The defaults are fresh values, not one shared list.
    upcastCaseNotified(v1, 1).fearsAuthoritiesOf.push('MD');
    expect(upcastCaseNotified(v1, 1).fearsAuthoritiesOf).toEqual([]);
  });

  it('reads version 2 as it is, and refuses version 2 data that lacks its fields', () => {
    const v2 = { ...v1, nationalContactPointIds: ['anitp'], addressedTo: 'anitp', internationalProtectionSought: true, fearsAuthoritiesOf: ['MD'] };
    expect(upcastCaseNotified(v2, 2)).toEqual(v2);
    expect(upcastCaseNotified(v2)).toEqual(v2);
    expect(() => upcastCaseNotified(v1, 2)).toThrow();
    expect(() => CaseNotifiedData.parse({ ...v2, fearsAuthoritiesOf: ['XX'] })).toThrow();
  });
});
