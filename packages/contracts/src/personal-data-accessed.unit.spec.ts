import { describe, expect, it } from 'vitest';
import { PersonalDataAccessedData, upcastPersonalDataAccessed } from './referrals.events.js';

describe('PersonalDataAccessed, schema versions', () => {
  it('reads a version 1 event (one per read) as one read at the time it was recorded, never rewriting it', () => {
    const v1 = { caseId: 'c', organisationId: 'anitp', purpose: 'case_management', fields: ['givenName'] };
    expect(PersonalDataAccessedData.parse(v1)).toEqual(v1);
    expect(upcastPersonalDataAccessed(v1, '2026-11-20T10:00:00.000Z')).toEqual({
      ...v1,
      count: 1,
      firstReadAt: '2026-11-20T10:00:00.000Z',
      lastReadAt: '2026-11-20T10:00:00.000Z',
      legalBases: [],
      withheldFields: [],
    });
    expect(v1).not.toHaveProperty('count');
  });

  it('keeps the count and the first and last read of a version 2 event, with no basis recorded', () => {
    const v2 = { caseId: 'c', organisationId: 'anitp', purpose: 'case_management', fields: [], count: 4, firstReadAt: '2026-11-20T10:00:30.000Z', lastReadAt: '2026-11-20T10:01:30.000Z' };
    expect(upcastPersonalDataAccessed(v2, '2026-11-20T10:02:00.000Z')).toEqual({ ...v2, legalBases: [], withheldFields: [] });
  });

  it('keeps the legal bases and the withheld fields of a version 3 event', () => {
    const v3 = {
      caseId: 'c',
      organisationId: 'ngo-it',
      purpose: 'case_management',
      fields: ['familyName', 'givenName'],
      count: 1,
      firstReadAt: '2026-11-20T10:00:30.000Z',
      lastReadAt: '2026-11-20T10:00:30.000Z',
      legalBases: [{ basis: 'collected_by_reader', fields: ['familyName', 'givenName'] }],
      withheldFields: ['birthDate'],
    };
    expect(upcastPersonalDataAccessed(v3, '2026-11-20T10:02:00.000Z')).toEqual(v3);
    expect(() => PersonalDataAccessedData.parse({ ...v3, legalBases: [{ basis: 'declared_by_caller', fields: [] }] })).toThrow();
  });
});
