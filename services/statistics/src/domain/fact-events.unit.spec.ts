import { describe, expect, it } from 'vitest';
import { StatisticsEnv } from '../module.js';
import { factsOf } from './fact-events.js';

const base = { eventId: '019a0000-0000-7000-8000-00000000000e', recordedAt: '2026-11-20T10:00:00.000Z' };

describe('fact fold', () => {
  it('keeps no free text: a declined referral records the outcome, never the reason', () => {
    const out = factsOf({ ...base, service: 'referrals', type: 'ServiceReferralDeclined', data: { caseId: 'c', referralId: 'r', reason: 'Ana has no papers' } });
    expect(out).toEqual({ kind: 'changes', changes: [{ op: 'update', table: 'referral_facts', where: { referral_id: 'r' }, set: { outcome: 'declined' } }] });
    expect(JSON.stringify(out)).not.toContain('Ana');
  });

  it('ignores types it does not use and reports a known type whose data does not parse by path, not value', () => {
    expect(factsOf({ ...base, service: 'referrals', type: 'PersonalDataAccessed', data: {} })).toEqual({ kind: 'ignored' });
    expect(factsOf({ ...base, service: 'referrals', type: 'VictimStatusDetermined', data: { caseId: 'c', status: 'Ana Example', deciderBodyType: 'court', determinedOn: '2026-11-20', recordedBy: 'anitp' } })).toEqual({
      kind: 'unparsed',
      issues: 'status',
    });
  });

  it('splits convictions by sentence so the share of suspended sentences can be published', () => {
    const out = factsOf({
      ...base,
      service: 'proceedings',
      type: 'OutcomeRecorded',
      data: {
        caseId: 'c', criminalCaseId: 'k', outcomeId: 'o', stage: 'trial', outcome: { kind: 'conviction', sentence: 'suspended', lengthMonths: 24 },
        decidedOn: '2026-10-01', recordedBy: 'u', recordedAt: base.recordedAt, dutyId: 'd', informDueAt: '2026-10-06T00:00:00.000Z',
      },
    });
    expect(out.kind === 'changes' && out.changes[0]).toEqual({
      op: 'update',
      table: 'proceeding_facts',
      where: { criminal_case_id: 'k' },
      set: { outcome: 'conviction_suspended' },
    });
  });

  it('counts a notification of either CaseNotified schema version the same (version 1 upcast to 2)', () => {
    const v1 = {
      caseId: 'c', situation: 'foreign_victim', notifyingOrganisationId: 'ngo-it', notifyingOrganisationType: 'ngo', countryOfIdentification: 'RO',
      countryOfExploitation: 'RO', identificationDate: '2026-11-18', formsOfExploitation: ['forced_labour'], sex: 'female', ageAtIdentification: 24,
      birthYear: null, ageBand: '18-25', minor: false, citizenship: 'MD', traffickedAcrossBorders: true, recruiterRelation: 'friend_or_acquaintance',
      returnWanted: false, plannedReturnDate: null, nationalContactPointIds: ['anitp'], personalDataFields: [], notifiedAt: base.recordedAt,
      acknowledgementDueAt: '2026-11-22T10:00:00.000Z',
    };
    const v2 = { ...v1, addressedTo: 'anitp', internationalProtectionSought: true, fearsAuthoritiesOf: ['MD'] };
    const one = factsOf({ ...base, service: 'referrals', type: 'CaseNotified', data: v1 });
    expect(one.kind).toBe('changes');
    expect(factsOf({ ...base, service: 'referrals', type: 'CaseNotified', data: v2 })).toEqual(one);
    // What statistics keeps says nothing of protection or fear.
    expect(JSON.stringify(one)).not.toMatch(/internationalProtection|fearsAuthorities|addressedTo/);
  });

  it('takes k = 10 and rounding base 5 by default (policy), both overridable', () => {
    expect(StatisticsEnv.parse({})).toMatchObject({ TRM_STATS_K: 10, TRM_STATS_ROUNDING_BASE: 5 });
    expect(StatisticsEnv.parse({ TRM_STATS_K: '20', TRM_STATS_ROUNDING_BASE: '1' })).toMatchObject({ TRM_STATS_K: 20, TRM_STATS_ROUNDING_BASE: 1 });
  });
});
