import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '@trm/contracts';
import { createCaseDecider } from '@trm/referrals';
import { AGGREGATES, replay } from './aggregate-registry.js';

const caseId = '0190a000-0000-7000-8000-000000000001';
const kind = AGGREGATES.find((k) => k.service === 'referrals' && k.aggregate === 'case')!;

function envelope(streamVersion: number, type: string, data: Record<string, unknown>): EventEnvelope {
  return {
    service: 'referrals',
    eventId: `0190a000-0000-7000-8000-00000000010${streamVersion}`,
    type,
    schemaVersion: 1,
    streamId: `case-${caseId}`,
    streamVersion,
    globalPosition: String(streamVersion),
    transactionId: String(streamVersion),
    data: { caseId, ...data },
    metadata: { actor: 'a', organisation: 'anitp', correlationId: 'c', causationId: null, requestId: null },
    recordedAt: '2026-11-22T10:00:00.000Z',
    prevHash: null,
    hash: '0'.repeat(64),
  };
}

// Events as the referrals decider itself decides them, so the test follows its contract.
const decider = createCaseDecider();
const now = new Date('2026-11-20T10:00:00.000Z');
const [notifiedEvent] = decider.decide(
  {
    type: 'NotifyCase',
    data: {
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
      personalDataFields: [],
    },
    metadata: { now, actor: 'u1', organisationId: 'ngo-it', organisationType: 'ngo' },
  },
  decider.initialState(),
);
const [acknowledgedEvent] = decider.decide(
  {
    type: 'AcknowledgeNotification',
    data: { keyContactId: 'o1', alternateContactId: 'o2', regionalCentre: { id: 'anitp-rc-bucharest', type: 'national_contact_point', parentOrgId: 'anitp', active: true } },
    metadata: { now, actor: 'u2', organisationId: 'anitp', organisationType: 'national_contact_point' },
  },
  decider.evolve(decider.initialState(), notifiedEvent!),
);
const notified = envelope(1, notifiedEvent!.type, notifiedEvent!.data as unknown as Record<string, unknown>);
const acknowledged = envelope(2, acknowledgedEvent!.type, acknowledgedEvent!.data as unknown as Record<string, unknown>);

describe('replay with the owning service’s evolve', () => {
  it('folds with the referrals decider itself, not a copy', () => {
    const expected = [notified, acknowledged].reduce((s, e) => decider.evolve(s, e as never), decider.initialState());
    const result = replay(kind, [
      { index: 9, event: acknowledged },
      { index: 4, event: notified },
    ]);
    // Ledger order may differ from stream order after a redelivery: stream order decides.
    expect(result).toEqual({ complete: true, version: 2, state: expected, lastIndex: 9 });
    expect(result.state).toMatchObject({ status: 'acknowledged', regionalCentreId: 'anitp-rc-bucharest' });
  });

  it('stops before a version missing from the ledger and says so', () => {
    const third = envelope(3, 'PersonalDataAccessed', { organisationId: 'anitp', purpose: 'case_management', fields: [] });
    const result = replay(kind, [
      { index: 4, event: notified },
      { index: 11, event: third },
    ]);
    expect(result).toMatchObject({ complete: false, version: 1, missingVersion: 2, lastIndex: 4 });
    expect(result.state).toMatchObject({ status: 'notified' });
  });

  it('gives the initial state for no events', () => {
    expect(replay(kind, [])).toEqual({ complete: true, version: 0, state: kind.evolver.initialState(), lastIndex: null });
  });
});
