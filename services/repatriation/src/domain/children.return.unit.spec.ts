import { describe, expect, it } from 'vitest';
import type { OrganisationType, RepatriationEvent } from '@trm/contracts';
import { deciderSpec } from '@trm/testing';
import { type CaseFacts, type CommandMetadata, isChildOn } from './case-facts.js';
import { type ReturnCommand, type ReturnState, createReturnDecider } from './return.decider.js';

/** Issue 17 in repatriation: a family assessed not suitable stops a return to it; a presumed child is a child. */

const caseId = '019a0000-0000-7000-8000-000000000017';
const returnId = '019a0000-0000-7000-8000-0000000000bb';
const ids = { caseId, returnId };
const now = new Date('2026-11-20T10:00:00.000Z');
const at = now.toISOString();

const childFacts: CaseFacts = {
  caseId,
  notifyingOrganisationId: 'ngo-it',
  nationalContactPointIds: ['anitp'],
  regionalCentreId: 'anitp-rc-bucharest',
  participants: [
    { organisationId: 'consulate-ro-it', purpose: 'travel_documents' },
    { organisationId: 'iom-it', purpose: 'return' },
    { organisationId: 'dgaspc-bucharest', purpose: 'child_protection' },
  ],
  returnConsent: true,
  minor: true,
  birthYear: 2010,
  ageAtIdentification: null,
  identificationDate: '2026-11-18',
  notifiedAt: '2026-11-18T09:00:00.000Z',
};
const TYPES: Record<string, OrganisationType> = { 'ngo-it': 'ngo', anitp: 'national_contact_point', 'dgaspc-bucharest': 'child_protection', 'iom-it': 'international_organisation' };
const by = (org: string, facts: CaseFacts = childFacts, when: Date = now): CommandMetadata => ({ now: when, actor: `user-of-${org}`, organisationId: org, organisationType: TYPES[org] ?? 'ngo', case: facts });

const decider = createReturnDecider();
const spec = deciderSpec<ReturnCommand, RepatriationEvent, ReturnState>(decider);

const ready: RepatriationEvent[] = [
  {
    type: 'ReturnRequested',
    data: { ...ids, requestedBy: 'ngo-it', requestedAt: at, plannedDepartureDate: '2026-12-10', needs: ['shelter'], escortRequired: true, travelDocumentNeeded: false, child: true, noticeDays: 20, acknowledgementDueAt: '2026-11-22T10:00:00.000Z' },
  },
  { type: 'ReturnRequestAcknowledged', data: { ...ids, acknowledgedBy: 'anitp', keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', acknowledgedAt: at, late: false } },
  {
    type: 'RiskAssessmentRecorded',
    data: { ...ids, assessmentId: 'ra-0', assessedBy: 'anitp', assessedOn: '2026-11-20', level: 'low', factors: [], recommendation: 'proceed', measures: [], side: 'origin', recordedAt: at },
  },
  {
    type: 'TravelPlanned',
    data: { ...ids, plannedBy: 'ngo-it', departureDate: '2026-12-10', mode: 'air', departureCountry: 'IT', transitCountries: [], escortOrganisationId: 'iom-it', pointOfArrival: 'OTP airport', child: true, noticeDays: 20, plannedAt: at },
  },
  { type: 'ReceptionArranged', data: { ...ids, arrangedBy: 'dgaspc-bucharest', receivingOrganisationId: 'dgaspc-bucharest', pointOfArrival: 'OTP airport', arrangedAt: at } },
  { type: 'GuardianAppointed', data: { ...ids, appointedBy: 'dgaspc-bucharest', appointedOn: '2026-11-19', recordedAt: at } },
  { type: 'BestInterestsDetermined', data: { ...ids, determinedBy: 'dgaspc-bucharest', determinedOn: '2026-11-19', returnInBestInterests: true, recordedAt: at } },
];
const family = (outcome: 'suitable' | 'not_suitable', placementOrganisationId?: string): RepatriationEvent => ({
  type: 'FamilyAssessed',
  data: { ...ids, assessedBy: 'dgaspc-bucharest', assessedOn: '2026-11-19', outcome, recordedAt: at, ...(placementOrganisationId ? { placementOrganisationId } : {}) },
});
const depart = (facts: CaseFacts = childFacts): ReturnCommand => ({ type: 'Depart', data: {}, metadata: by('ngo-it', facts, new Date('2026-12-10T08:00:00.000Z')) });

describe('a family assessed not suitable stops a return to that family', () => {
  it('refuses departure naming family-not-suitable-without-placement; a recorded placement by child protection at arrival lets it proceed', () => {
    spec.given([...ready, family('not_suitable')]).when(depart()).thenRefuses('departure-conditions-unmet', ['family-not-suitable-without-placement']);
    spec.given([...ready, family('not_suitable', 'dgaspc-bucharest')]).when(depart()).thenMatches(([e]) => expect(e?.type).toBe('Departed'));
    spec.given([...ready, family('suitable')]).when(depart()).thenMatches(([e]) => expect(e?.type).toBe('Departed'));
  });

  it('records the placement only for a family not suitable, and only by child protection taking part', () => {
    const assess = (outcome: 'suitable' | 'not_suitable', placementOrganisationId: string): ReturnCommand => ({
      type: 'AssessFamily',
      data: { assessedOn: '2026-11-20', outcome, placementOrganisationId },
      metadata: by('dgaspc-bucharest'),
    });
    spec
      .given(ready)
      .when(assess('not_suitable', 'dgaspc-bucharest'))
      .then([{ type: 'FamilyAssessed', data: { ...ids, assessedBy: 'dgaspc-bucharest', assessedOn: '2026-11-20', outcome: 'not_suitable', placementOrganisationId: 'dgaspc-bucharest', recordedAt: at } }]);
    spec.given(ready).when(assess('suitable', 'dgaspc-bucharest')).thenRefuses('invalid-family-assessment', ['placement-only-for-a-family-not-suitable']);
    spec.given(ready).when(assess('not_suitable', 'iom-it')).thenRefuses('invalid-family-assessment', ['placement-by-child-protection-participant']);
  });
});

describe('a child’s consent to return is the legal representative’s', () => {
  it('refuses departure on a consent the person gave before the case turned out a child’s; the guardian’s or a parent’s counts', () => {
    const all = [...ready, family('suitable')];
    spec.given(all).when(depart({ ...childFacts, returnConsentGivenBy: 'person' })).thenRefuses('departure-conditions-unmet', ['consent-to-return-not-by-legal-representative']);
    spec.given(all).when(depart({ ...childFacts, returnConsentGivenBy: 'guardian' })).thenMatches(([e]) => expect(e?.type).toBe('Departed'));
    spec.given(all).when(depart({ ...childFacts, returnConsentGivenBy: 'parent' })).thenMatches(([e]) => expect(e?.type).toBe('Departed'));
    // An adult's own consent is the consent.
    const adult = { ...childFacts, minor: false, birthYear: 1990, returnConsentGivenBy: 'person' };
    spec.given(all).when(depart(adult)).thenMatches(([e]) => expect(e?.type).toBe('Departed'));
  });
});

describe('presumption of minority reaches the return', () => {
  it('a presumed child is a child on any date until child protection assesses the age, which then decides', () => {
    const presumed = { ...childFacts, birthYear: null, ageAtIdentification: 25, minorBasis: 'presumed' };
    expect(isChildOn(presumed, '2027-06-01')).toBe(true);
    expect(isChildOn({ ...presumed, minor: false, minorBasis: 'assessed' }, '2026-12-10')).toBe(false);
    expect(isChildOn({ ...childFacts, birthYear: 2008, minor: false, minorBasis: 'assessed' }, '2026-12-10')).toBe(false);
    expect(isChildOn({ ...childFacts, birthYear: 2008, minorBasis: null }, '2026-12-10')).toBe(true);
    // An approximate age of 25 is still a child's return: every child safeguard is required.
    spec
      .given(ready.slice(0, 5))
      .when(depart(presumed))
      .thenRefuses('departure-conditions-unmet', ['guardian-not-appointed', 'best-interests-determination-missing', 'family-assessment-missing']);
  });
});
