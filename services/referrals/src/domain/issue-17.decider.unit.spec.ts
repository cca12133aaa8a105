import { describe, expect, it } from 'vitest';
import type { ReferralsEvent } from '@trm/contracts';
import { deciderSpec } from '@trm/testing';
import { type CaseCommand, type CommandMetadata, type CaseState, type NotifyCaseData, createCaseDecider } from './case.decider.js';

/** Issue 17 in referrals: a closed case does not swallow a hand-over; consent can be given again. */
const caseId = '019a0000-0000-7000-8000-000000000017';
const now = new Date('2026-11-20T10:00:00.000Z');
const ngo: CommandMetadata = { now, actor: 'u1', organisationId: 'ngo-it', organisationType: 'ngo' };
const anitp: CommandMetadata = { now, actor: 'u2', organisationId: 'anitp', organisationType: 'national_contact_point' };
/** The consumer of repatriation's HandedOverToAssistance acts for the organisation that handed over. */
const handOverMeta: CommandMetadata = { now, actor: 'system:referrals-on-handed-over', organisationId: 'anitp-rc-bucharest', organisationType: null };

const notification: NotifyCaseData = {
  caseId,
  situation: 'identified_by_international_ngo',
  countryOfIdentification: 'IT',
  countryOfExploitation: 'IT',
  identificationDate: '2026-11-18',
  formsOfExploitation: ['forced_labour'],
  sex: 'female',
  ageAtIdentification: 24,
  birthYear: null,
  citizenship: 'RO',
  traffickedAcrossBorders: true,
  recruiterRelation: 'friend_or_acquaintance',
  returnWanted: true,
  plannedReturnDate: '2026-12-10',
  addressee: { id: 'anitp', type: 'national_contact_point', country: 'RO', parentOrgId: null, active: true },
  personalDataFields: ['familyName', 'givenName'],
};

const decider = createCaseDecider();
const spec = deciderSpec<CaseCommand, ReferralsEvent, CaseState>(decider);

type Cmd = Omit<CaseCommand, 'metadata'> & { metadata?: CommandMetadata };
function history(...commands: Cmd[]): ReferralsEvent[] {
  const events: ReferralsEvent[] = [];
  let state = decider.initialState();
  for (const c of commands) {
    const produced = decider.decide({ metadata: anitp, ...c } as CaseCommand, state);
    for (const e of produced) state = decider.evolve(state, e);
    events.push(...produced);
  }
  return events;
}
const notify: Cmd = { type: 'NotifyCase', data: notification, metadata: ngo };
const close: Cmd = { type: 'CloseCase', data: { reason: 'reintegrated' } };
const handOver = (): CaseCommand => ({ type: 'RecordAssistanceNeeds', data: { returnId: 'ret-1', services: ['shelter', 'medical'], referralIds: ['a', 'b'] }, metadata: handOverMeta });

describe('a hand-over for a case closed meanwhile', () => {
  it('reopens the case (new needs) and records the referrals for the contact point to act on, instead of being refused', () => {
    spec
      .given(history(notify, close))
      .when(handOver())
      .thenMatches((events) => {
        expect(events.map((e) => e.type)).toEqual(['CaseReopened', 'ServiceReferralMade', 'ServiceReferralMade']);
        expect(events[0]).toEqual({ type: 'CaseReopened', data: { caseId, reason: 'new_needs', reopenedBy: 'anitp-rc-bucharest', reopenedAt: now.toISOString() } });
      });
    const state = [...history(notify, close), ...decider.decide(handOver(), history(notify, close).reduce(decider.evolve, decider.initialState()))].reduce(
      decider.evolve,
      decider.initialState(),
    );
    expect(state.closed).toBe(false);
    expect(Object.keys(state.referrals).sort()).toEqual(['a', 'b']);
  });

  it('on an open case only records the referrals', () => {
    spec.given(history(notify)).when(handOver()).thenMatches((events) => expect(events.map((e) => e.type)).toEqual(['ServiceReferralMade', 'ServiceReferralMade']));
  });
});

describe('consent in referrals', () => {
  it('can be given again after a withdrawal', () => {
    const given: Cmd = { type: 'RecordConsent', data: { purpose: 'return', sharingWith: null, givenOn: '2026-11-19' } };
    const withdrawn: Cmd = { type: 'WithdrawConsent', data: { purpose: 'return', sharingWith: null, withdrawnOn: '2026-11-20' } };
    spec
      .given(history(notify, given, withdrawn))
      .when({ type: 'RecordConsent', data: { purpose: 'return', sharingWith: null, givenOn: '2026-11-20' }, metadata: anitp })
      .then([{ type: 'ConsentRecorded', data: { caseId, purpose: 'return', sharingWith: null, givenOn: '2026-11-20', recordedBy: 'anitp' } }]);
    spec.given(history(notify, given)).when({ type: 'RecordConsent', data: { purpose: 'return', sharingWith: null, givenOn: '2026-11-20' }, metadata: anitp }).thenRefuses('consent-already-recorded');
  });
});
