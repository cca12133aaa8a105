import { describe, expect, it } from 'vitest';
import type { OrganisationType, RepatriationEvent } from '@trm/contracts';
import { deciderSpec } from '@trm/testing';
import { type CaseFacts, type CommandMetadata, isChildOn } from './case-facts.js';
import {
  type ReturnCommand,
  type ReturnState,
  createReturnDecider,
  departureUnmet,
  evolve,
  gateDate,
  initialReturnState,
  nextStep,
} from './return.decider.js';

const caseId = '019a0000-0000-7000-8000-000000000001';
const returnId = '019a0000-0000-7000-8000-0000000000aa';
const ids = { caseId, returnId };
const now = new Date('2026-11-20T10:00:00.000Z');
const at = now.toISOString();

const adultFacts: CaseFacts = {
  caseId,
  notifyingOrganisationId: 'ngo-it',
  nationalContactPointIds: ['anitp'],
  regionalCentreId: 'anitp-rc-bucharest',
  participants: [
    { organisationId: 'consulate-ro-it', purpose: 'travel_documents' },
    { organisationId: 'iom-it', purpose: 'return' },
  ],
  returnConsent: true,
  minor: false,
  birthYear: null,
  ageAtIdentification: 24,
  identificationDate: '2026-11-18',
  notifiedAt: '2026-11-18T09:00:00.000Z',
};

const childFacts: CaseFacts = {
  ...adultFacts,
  minor: true,
  birthYear: 2010,
  ageAtIdentification: null,
  participants: [...adultFacts.participants, { organisationId: 'dgaspc-bucharest', purpose: 'child_protection' }],
};

const TYPES: Record<string, OrganisationType> = {
  'ngo-it': 'ngo',
  anitp: 'national_contact_point',
  'anitp-rc-bucharest': 'national_contact_point',
  'consulate-ro-it': 'consulate',
  'iom-it': 'international_organisation',
  'dgaspc-bucharest': 'child_protection',
  'provider-shelter': 'service_provider',
};

function by(org: string, facts: CaseFacts = adultFacts, when: Date = now): CommandMetadata {
  return { now: when, actor: `user-of-${org}`, organisationId: org, organisationType: TYPES[org] ?? 'ngo', case: facts };
}

const decider = createReturnDecider();
const spec = deciderSpec<ReturnCommand, RepatriationEvent, ReturnState>(decider);

const requested = (over: Partial<Extract<RepatriationEvent, { type: 'ReturnRequested' }>['data']> = {}): RepatriationEvent => ({
  type: 'ReturnRequested',
  data: {
    ...ids,
    requestedBy: 'ngo-it',
    requestedAt: at,
    plannedDepartureDate: '2026-12-10',
    needs: ['shelter', 'medical'],
    escortRequired: false,
    travelDocumentNeeded: true,
    child: false,
    noticeDays: 20,
    acknowledgementDueAt: '2026-11-22T10:00:00.000Z',
    ...over,
  },
});
const riskOk: RepatriationEvent = {
  type: 'RiskAssessmentRecorded',
  data: { ...ids, assessmentId: 'ra-1', assessedBy: 'iom-it', assessedOn: '2026-11-20', level: 'low', factors: [], recommendation: 'proceed', measures: [], side: 'destination', recordedAt: at },
};
/** The country of origin's assessment (its national contact point): it governs departure. */
const originRisk = (over: Partial<Extract<RepatriationEvent, { type: 'RiskAssessmentRecorded' }>['data']> = {}): RepatriationEvent => ({
  type: 'RiskAssessmentRecorded',
  data: { ...ids, assessmentId: 'ra-0', assessedBy: 'anitp', assessedOn: '2026-11-20', level: 'low', factors: [], recommendation: 'proceed', measures: [], side: 'origin', recordedAt: at, ...over },
});
const destinationRisk = (over: Partial<Extract<RepatriationEvent, { type: 'RiskAssessmentRecorded' }>['data']> = {}): RepatriationEvent => ({
  type: 'RiskAssessmentRecorded',
  data: { ...(riskOk.data as Extract<RepatriationEvent, { type: 'RiskAssessmentRecorded' }>['data']), ...over },
});
const acked: RepatriationEvent = {
  type: 'ReturnRequestAcknowledged',
  data: { ...ids, acknowledgedBy: 'anitp', keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', acknowledgedAt: at, late: false },
};
const docRequested: RepatriationEvent = { type: 'TravelDocumentRequested', data: { ...ids, consulateId: 'consulate-ro-it', requestedBy: 'ngo-it', requestedAt: at } };
const docIssued: RepatriationEvent = {
  type: 'TravelDocumentIssued',
  data: { ...ids, consulateId: 'consulate-ro-it', documentType: 'single_trip_travel_title', validFrom: '2026-11-20', validUntil: '2026-12-31', issuedAt: at },
};
const planned = (escort: string | null = null, departureDate = '2026-12-10'): RepatriationEvent => ({
  type: 'TravelPlanned',
  data: {
    ...ids,
    plannedBy: 'ngo-it',
    departureDate,
    mode: 'air',
    departureCountry: 'IT',
    transitCountries: [],
    escortOrganisationId: escort,
    pointOfArrival: 'OTP airport',
    child: false,
    noticeDays: 20,
    plannedAt: at,
  },
});
const reception: RepatriationEvent = {
  type: 'ReceptionArranged',
  data: { ...ids, arrangedBy: 'anitp', receivingOrganisationId: 'anitp-rc-bucharest', pointOfArrival: 'OTP airport', arrangedAt: at },
};
const guardian: RepatriationEvent = { type: 'GuardianAppointed', data: { ...ids, appointedBy: 'dgaspc-bucharest', appointedOn: '2026-11-19', recordedAt: at } };
const bid = (ok: boolean): RepatriationEvent => ({
  type: 'BestInterestsDetermined',
  data: { ...ids, determinedBy: 'dgaspc-bucharest', determinedOn: '2026-11-19', returnInBestInterests: ok, recordedAt: at },
});
const family: RepatriationEvent = { type: 'FamilyAssessed', data: { ...ids, assessedBy: 'dgaspc-bucharest', assessedOn: '2026-11-19', outcome: 'suitable', recordedAt: at } };
const readyAdult = [requested(), acked, originRisk(), riskOk, docRequested, docIssued, planned(), reception];
const readyChild = [requested({ child: true }), acked, originRisk(), riskOk, docRequested, docIssued, planned('iom-it'), reception, guardian, bid(true), family];
const departDay = new Date('2026-12-10T08:00:00.000Z');
const depart = (facts: CaseFacts = adultFacts): ReturnCommand => ({ type: 'Depart', data: {}, metadata: by('ngo-it', facts, departDay) });
const departed: RepatriationEvent = {
  type: 'Departed',
  data: { ...ids, recordedBy: 'ngo-it', departedAt: departDay.toISOString(), child: false, escortOrganisationId: null, lateNotification: false },
};

describe('RequestReturn', () => {
  const request = (over: Partial<Extract<ReturnCommand, { type: 'RequestReturn' }>['data']> = {}, meta = by('ngo-it')): ReturnCommand => ({
    type: 'RequestReturn',
    data: { returnId, plannedDepartureDate: '2026-12-10', needs: ['shelter', 'medical'], escortRequired: false, travelDocumentNeeded: true, ...over },
    metadata: meta,
  });

  it('records the request with notice days and the 2-day acknowledgement deadline', () => {
    spec.given([]).when(request()).then([requested()]);
  });

  it('flags LateNotification when departure is sooner than the 10-day notice policy, without refusing', () => {
    spec
      .given([])
      .when(request({ plannedDepartureDate: '2026-11-25' }))
      .then([
        requested({ plannedDepartureDate: '2026-11-25', noticeDays: 5 }),
        { type: 'LateNotificationFlagged', data: { ...ids, plannedDepartureDate: '2026-11-25', noticeDays: 5, requiredNoticeDays: 10, flaggedAt: at } },
      ]);
  });

  it('takes notice and acknowledgement days from policy', () => {
    deciderSpec(createReturnDecider({ noticeDays: 30, acknowledgementDays: 5, followUpDays: [30] }))
      .given([])
      .when(request())
      .thenMatches((events) => {
        expect(events.map((e) => e.type)).toEqual(['ReturnRequested', 'LateNotificationFlagged']);
        expect(events[0]?.type === 'ReturnRequested' && events[0].data.acknowledgementDueAt).toBe('2026-11-25T10:00:00.000Z');
      });
  });

  it('needs the victim\'s consent to return', () => {
    spec.given([]).when(request({}, by('ngo-it', { ...adultFacts, returnConsent: false }))).thenRefuses('consent-to-return-required', ['consent-to-return-not-in-force']);
  });

  it('is requested by the destination partner (notifier or IOM), nobody else', () => {
    spec.given([]).when(request({}, by('iom-it'))).thenMatches((events) => expect(events[0]?.data).toMatchObject({ requestedBy: 'iom-it' }));
    spec.given([]).when(request({}, by('anitp'))).thenRefuses('not-your-step');
    spec.given([]).when(request({}, by('consulate-ro-it'))).thenRefuses('not-your-step');
  });

  it('refuses a departure date in the past', () => {
    spec.given([]).when(request({ plannedDepartureDate: '2026-11-01' })).thenRefuses('invalid-return-request', ['planned-departure-in-past']);
  });

  it('marks a possible child as a child: born in 2008, the person may still be 17 on the planned date', () => {
    spec
      .given([])
      .when(request({}, by('ngo-it', { ...childFacts, birthYear: 2008 })))
      .thenMatches((events) => expect(events[0]?.data).toMatchObject({ child: true }));
    spec
      .given([])
      .when(request({}, by('ngo-it', { ...childFacts, birthYear: 2007 })))
      .thenMatches((events) => expect(events[0]?.data).toMatchObject({ child: false }));
  });

  it('refuses a second request on the same stream', () => {
    spec.given([requested()]).when(request()).thenRefuses('return-already-exists');
  });
});

describe('isChildOn', () => {
  it('adds only full years to an age at identification', () => {
    const f = { birthYear: null, ageAtIdentification: 17, identificationDate: '2026-03-01', minor: true };
    expect(isChildOn(f, '2027-02-28')).toBe(true);
    expect(isChildOn(f, '2027-03-01')).toBe(false);
  });
});

describe('AcknowledgeReturnRequest', () => {
  const ack = (meta = by('anitp'), over = {}): ReturnCommand => ({
    type: 'AcknowledgeReturnRequest',
    data: { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', ...over },
    metadata: meta,
  });

  it('records key contact and alternate, on time', () => {
    spec.given([requested()]).when(ack()).then([
      {
        type: 'ReturnRequestAcknowledged',
        data: { ...ids, acknowledgedBy: 'anitp', keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', acknowledgedAt: at, late: false },
      },
    ]);
  });

  it('is late after the acknowledgement deadline', () => {
    spec
      .given([requested()])
      .when(ack(by('anitp', adultFacts, new Date('2026-11-23T10:00:00.000Z'))))
      .thenMatches((events) => expect(events[0]?.data).toMatchObject({ late: true }));
  });

  it('is for the national contact point only, once, with two different contacts', () => {
    spec.given([requested()]).when(ack(by('ngo-it'))).thenRefuses('not-your-step');
    spec.given([requested()]).when(ack(by('anitp'), { alternateContactId: 'officer-ionescu' })).thenRefuses('invalid-return-acknowledgement', ['alternate-contact-must-differ']);
    spec.given([requested(), { type: 'ReturnRequestAcknowledged', data: { ...ids, acknowledgedBy: 'anitp', keyContactId: 'a', alternateContactId: 'b', acknowledgedAt: at, late: false } }])
      .when(ack())
      .thenRefuses('return-request-already-acknowledged');
  });

  it('refuses a return that does not exist', () => {
    spec.given([]).when(ack()).thenRefuses('return-not-found');
  });
});

describe('risk assessment', () => {
  it('is recorded by the destination partner and commented by the country of origin', () => {
    spec
      .given([requested()])
      .when({
        type: 'RecordRiskAssessment',
        data: { assessmentId: 'ra-1', assessedOn: '2026-11-20', level: 'low', factors: [], recommendation: 'proceed' },
        metadata: by('iom-it'),
      })
      .then([riskOk]);
    spec
      .given([requested()])
      .when({
        type: 'RecordRiskAssessment',
        data: { assessmentId: 'ra-0', assessedOn: '2026-11-20', level: 'low', factors: [], recommendation: 'proceed' },
        metadata: by('anitp'),
      })
      .then([originRisk()]);
    spec
      .given([requested(), riskOk])
      .when({ type: 'CommentRiskAssessment', data: { assessmentId: 'ra-1', concurs: false, additionalFactors: ['stigma'] }, metadata: by('anitp') })
      .then([{ type: 'RiskAssessmentCommented', data: { ...ids, assessmentId: 'ra-1', commentedBy: 'anitp', concurs: false, additionalFactors: ['stigma'], commentedAt: at } }]);
  });

  it('refuses a comment from the destination side and one on an unknown assessment', () => {
    spec
      .given([requested(), riskOk])
      .when({ type: 'CommentRiskAssessment', data: { assessmentId: 'ra-1', concurs: true, additionalFactors: [] }, metadata: by('ngo-it') })
      .thenRefuses('not-your-step');
    spec
      .given([requested(), riskOk])
      .when({ type: 'CommentRiskAssessment', data: { assessmentId: 'ra-9', concurs: true, additionalFactors: [] }, metadata: by('anitp') })
      .thenRefuses('invalid-risk-comment', ['assessment-not-found']);
  });
});

describe('the origin country\'s risk assessment governs the return (issue 17)', () => {
  const assess = (org: string, data: Partial<Extract<ReturnCommand, { type: 'RecordRiskAssessment' }>['data']>, facts: CaseFacts = adultFacts): ReturnCommand => ({
    type: 'RecordRiskAssessment',
    data: { assessmentId: 'ra-9', assessedOn: '2026-11-20', level: 'low', factors: [], recommendation: 'proceed', ...data },
    metadata: by(org, facts),
  });
  const resolve = (org: string, recommendation: 'proceed' | 'proceed_with_measures' | 'do_not_return', measures: Array<'escort' | 'shelter_on_arrival'> = []): ReturnCommand => ({
    type: 'ResolveRiskDisagreement',
    data: { recommendation, measures },
    metadata: by(org),
  });
  const withoutRisk = readyAdult.filter((e) => e.type !== 'RiskAssessmentRecorded');

  it('refuses high risk with proceed; proceed_with_measures names its measures', () => {
    spec.given([requested()]).when(assess('iom-it', { level: 'high', recommendation: 'proceed' })).thenRefuses('invalid-risk-assessment', ['high-risk-cannot-proceed-without-measures']);
    spec.given([requested()]).when(assess('anitp', { level: 'medium', recommendation: 'proceed_with_measures' })).thenRefuses('invalid-risk-assessment', ['measures-required']);
    spec.given([requested()]).when(assess('anitp', { recommendation: 'proceed', measures: ['escort'] })).thenRefuses('invalid-risk-assessment', ['measures-only-with-proceed-with-measures']);
    spec
      .given([requested()])
      .when(assess('anitp', { level: 'high', recommendation: 'proceed_with_measures', measures: ['escort', 'shelter_on_arrival'] }))
      .thenMatches(([e]) => expect(e?.data).toMatchObject({ side: 'origin', level: 'high', recommendation: 'proceed_with_measures', measures: ['escort', 'shelter_on_arrival'] }));
  });

  it('departure needs the origin\'s assessment: the destination\'s alone is not enough', () => {
    spec.given([...withoutRisk, riskOk]).when(depart()).thenRefuses('departure-conditions-unmet', ['origin-risk-assessment-missing']);
    spec.given(withoutRisk).when(depart()).thenRefuses('departure-conditions-unmet', ['risk-assessment-missing']);
  });

  it('a destination partner cannot supersede the origin\'s do_not_return with a newer proceed: the latest of each side is kept', () => {
    const againstAtOrigin = originRisk({ recommendation: 'do_not_return', level: 'high' });
    const newerProceed = destinationRisk({ assessmentId: 'ra-5', recordedAt: '2026-11-21T10:00:00.000Z' });
    const state = [...withoutRisk, againstAtOrigin, newerProceed].reduce(evolve, initialReturnState());
    expect(state.riskAssessments.map((a) => a.assessmentId)).toEqual(['ra-0', 'ra-5']);
    spec
      .given([...withoutRisk, againstAtOrigin, newerProceed])
      .when(depart())
      .thenRefuses('departure-conditions-unmet', ['risk-disagreement-unresolved', 'risk-assessment-advises-against-return']);
    // Recorded through the decider, the destination's proceed is a destination assessment whatever came before.
    spec
      .given([...withoutRisk, againstAtOrigin])
      .when(assess('iom-it', { assessmentId: 'ra-5' }))
      .thenMatches(([e]) => expect(e?.data).toMatchObject({ side: 'destination', recommendation: 'proceed' }));
  });

  it('when the sides disagree the return waits for the origin contact point\'s resolution', () => {
    const destinationAgainst = destinationRisk({ recommendation: 'do_not_return' });
    const disagreeing = [...withoutRisk, originRisk(), destinationAgainst];
    spec.given(disagreeing).when(depart()).thenRefuses('departure-conditions-unmet', ['risk-disagreement-unresolved', 'risk-assessment-advises-against-return']);
    // The origin not concurring with the destination's assessment is a disagreement too.
    const notConcurring: RepatriationEvent = { type: 'RiskAssessmentCommented', data: { ...ids, assessmentId: 'ra-1', commentedBy: 'anitp', concurs: false, additionalFactors: [], commentedAt: at } };
    spec.given([...readyAdult, notConcurring]).when(depart()).thenRefuses('departure-conditions-unmet', ['risk-disagreement-unresolved']);
    // Only the origin's national contact point resolves: not the destination, not child protection.
    spec.given(disagreeing).when(resolve('iom-it', 'proceed')).thenRefuses('not-your-step');
    spec.given(disagreeing).when({ ...resolve('dgaspc-bucharest', 'proceed'), metadata: by('dgaspc-bucharest', childFacts) }).thenRefuses('not-your-step');
    spec.given(readyAdult).when(resolve('anitp', 'proceed')).thenRefuses('no-risk-disagreement', ['risk-disagreement-missing']);
    spec.given(disagreeing).when(resolve('anitp', 'proceed_with_measures')).thenRefuses('invalid-risk-resolution', ['measures-required']);
    const resolved: RepatriationEvent = {
      type: 'RiskDisagreementResolved',
      data: { ...ids, resolvedBy: 'anitp', originAssessmentId: 'ra-0', destinationAssessmentId: 'ra-1', recommendation: 'proceed_with_measures', measures: ['escort'], resolvedAt: at },
    };
    spec.given(disagreeing).when(resolve('anitp', 'proceed_with_measures', ['escort'])).then([resolved]);
    spec.given([...disagreeing, resolved]).when(depart()).then([departed]);
    // A resolution against return blocks; a newer assessment of either side needs a new resolution.
    spec.given([...disagreeing, { ...resolved, data: { ...(resolved.data as object), recommendation: 'do_not_return', measures: [] } as never }]).when(depart()).thenRefuses('departure-conditions-unmet', ['risk-assessment-advises-against-return']);
    spec.given([...disagreeing, resolved, destinationRisk({ assessmentId: 'ra-7', recommendation: 'do_not_return' })]).when(depart()).thenRefuses('departure-conditions-unmet', ['risk-disagreement-unresolved', 'risk-assessment-advises-against-return']);
  });

  it('a threat or re-trafficking flag raised in referrals blocks departure until the origin reassesses', () => {
    const flagged: CaseFacts = { ...adultFacts, riskFlags: [{ kind: 'threat', raisedAt: '2026-11-21T09:00:00.000Z' }] };
    spec.given(readyAdult).when(depart(flagged)).thenRefuses('departure-conditions-unmet', ['risk-flag-raised-since-assessment']);
    spec.given(readyAdult).when(depart({ ...adultFacts, riskFlags: [{ kind: 're_trafficking', raisedAt: '2026-11-21T09:00:00.000Z' }] })).thenRefuses('departure-conditions-unmet', ['risk-flag-raised-since-assessment']);
    // A destination reassessment does not lift it; the origin's does.
    spec.given([...readyAdult, destinationRisk({ assessmentId: 'ra-8', recordedAt: '2026-11-22T09:00:00.000Z' })]).when(depart(flagged)).thenRefuses('departure-conditions-unmet', ['risk-flag-raised-since-assessment']);
    spec.given([...readyAdult, originRisk({ assessmentId: 'ra-8', recordedAt: '2026-11-22T09:00:00.000Z' })]).when(depart(flagged)).then([departed]);
    // Lost contact is for the contact point, not a departure gate.
    spec.given(readyAdult).when(depart({ ...adultFacts, riskFlags: [{ kind: 'lost_contact', raisedAt: '2026-11-21T09:00:00.000Z' }] })).then([departed]);
  });

  it('departure is refused with case-facts-not-current while repatriation\'s facts lag behind referrals\'', () => {
    spec.given(readyAdult).when(depart({ ...adultFacts, current: false })).thenRefuses('departure-conditions-unmet', ['case-facts-not-current']);
    spec.given(readyAdult).when(depart({ ...adultFacts, current: true })).then([departed]);
  });
});

describe('acknowledgement and reception are the origin\'s (issue 17)', () => {
  it('no departure before the origin\'s contact point acknowledged the return request', () => {
    spec.given(readyAdult.filter((e) => e !== acked)).when(depart()).thenRefuses('departure-conditions-unmet', ['return-request-not-acknowledged']);
  });

  it('reception is arranged by the origin\'s contact point or the receiving organisation itself, never by the destination side', () => {
    const arrange = (org: string, receiving: string, facts: CaseFacts = childFacts): ReturnCommand => ({
      type: 'ArrangeReception',
      data: { receivingOrganisationId: receiving, pointOfArrival: 'OTP airport' },
      metadata: by(org, facts),
    });
    spec.given([requested({ child: true })]).when(arrange('dgaspc-bucharest', 'dgaspc-bucharest')).thenMatches(([e]) => expect(e?.type).toBe('ReceptionArranged'));
    spec.given([requested({ child: true })]).when(arrange('anitp', 'dgaspc-bucharest')).thenMatches(([e]) => expect(e?.type).toBe('ReceptionArranged'));
    spec.given([requested({ child: true })]).when(arrange('dgaspc-bucharest', 'anitp-rc-bucharest')).thenMatches(([e]) => expect(e?.type).toBe('ReceptionArranged'));
    // A provider taking part (not yet the receiving organisation) arranges only its own reception.
    const withShelter: CaseFacts = { ...adultFacts, participants: [...adultFacts.participants, { organisationId: 'provider-shelter', purpose: 'service_provision' }] };
    spec.given([requested()]).when(arrange('provider-shelter', 'provider-shelter', withShelter)).thenMatches(([e]) => expect(e?.type).toBe('ReceptionArranged'));
    spec.given([requested()]).when(arrange('provider-shelter', 'anitp', withShelter)).thenRefuses('not-your-step');
    spec.given([requested()]).when(arrange('ngo-it', 'ngo-it', adultFacts)).thenRefuses('not-your-step');
    spec.given([requested()]).when(arrange('iom-it', 'anitp', adultFacts)).thenRefuses('not-your-step');
    // A reception the destination side recorded before the rule does not count.
    const byDestination: RepatriationEvent = { type: 'ReceptionArranged', data: { ...(reception.data as object), arrangedBy: 'ngo-it' } as never };
    spec.given([...readyAdult.filter((e) => e !== reception), byDestination]).when(depart()).thenRefuses('departure-conditions-unmet', ['reception-not-arranged-by-origin']);
  });
});

describe('consent withdrawn cancels a planned return (issue 17)', () => {
  const cancelOnWithdrawal = (facts: CaseFacts): ReturnCommand => ({
    type: 'CancelOnConsentWithdrawn',
    data: { withdrawnBy: 'ngo-it' },
    metadata: { ...by('anitp', facts), actor: 'system:repatriation-case-facts' },
  });
  it('a withdrawal recorded in referrals cancels the return, reason consent_withdrawn', () => {
    spec
      .given(readyAdult)
      .when(cancelOnWithdrawal({ ...adultFacts, returnConsent: false }))
      .then([{ type: 'ReturnCancelled', data: { ...ids, cancelledBy: 'ngo-it', reason: 'consent_withdrawn', cancelledAt: at } }]);
  });
  it('never while consent is in force, nor once the person departed', () => {
    spec.given(readyAdult).when(cancelOnWithdrawal(adultFacts)).thenRefuses('consent-to-return-in-force');
    spec.given([...readyAdult, departed]).when(cancelOnWithdrawal({ ...adultFacts, returnConsent: false })).thenRefuses('return-not-cancellable');
  });
});

describe('unannounced and deported arrivals (issue 17)', () => {
  const record = (org: string, over: Partial<Extract<ReturnCommand, { type: 'RecordUnannouncedArrival' }>['data']> = {}, facts: CaseFacts = { ...adultFacts, returnConsent: false }): ReturnCommand => ({
    type: 'RecordUnannouncedArrival',
    data: { returnId, arrivedOn: '2026-11-19', pointOfArrival: 'Nadlac border crossing', deported: true, learntFrom: 'border_police', fromCountry: 'HU', ...over },
    metadata: by(org, facts),
  });
  const recorded: RepatriationEvent = {
    type: 'UnannouncedArrivalRecorded',
    data: {
      ...ids,
      recordedBy: 'anitp',
      arrivedOn: '2026-11-19',
      pointOfArrival: 'Nadlac border crossing',
      deported: true,
      learntFrom: 'border_police',
      fromCountry: 'HU',
      child: false,
      caseNotifiedAt: adultFacts.notifiedAt,
      followUpsDue: [30, 90, 180].map((d) => ({ afterDays: d, dueAt: new Date(now.getTime() + d * 86_400_000).toISOString() })),
      recordedAt: at,
    },
  };
  it('are recorded by the origin\'s contact point, with how it learnt of them, without consent to return', () => {
    spec.given([]).when(record('anitp')).then([recorded]);
    spec.given([]).when(record('ngo-it')).thenRefuses('not-your-step');
    spec.given([]).when(record('iom-it')).thenRefuses('not-your-step');
    spec.given([]).when(record('anitp', { arrivedOn: '2026-11-21' })).thenRefuses('invalid-unannounced-arrival', ['arrived-on-in-future']);
    spec.given([recorded]).when(record('anitp')).thenRefuses('return-already-exists');
  });
  it('the person still gets assistance: hand-over and follow-ups go on from the arrival', () => {
    const state = [recorded].reduce(evolve, initialReturnState());
    expect(state.phase).toBe('arrived');
    expect(state.unannounced).toEqual({ arrivedOn: '2026-11-19', deported: true, learntFrom: 'border_police' });
    spec
      .given([recorded])
      .when({ type: 'HandOverToAssistance', data: { services: ['shelter', 'psychological'] }, metadata: by('anitp') })
      .then([{ type: 'HandedOverToAssistance', data: { ...ids, receivingOrganisationId: 'anitp', services: ['shelter', 'psychological'], handedOverAt: at } }]);
  });
});

describe('travel documents', () => {
  it('are requested from a consulate taking part, and issued only by it', () => {
    spec.given([requested()]).when({ type: 'RequestTravelDocument', data: { consulateId: 'consulate-ro-it' }, metadata: by('ngo-it') }).then([docRequested]);
    spec
      .given([requested()])
      .when({ type: 'RequestTravelDocument', data: { consulateId: 'consulate-xx' }, metadata: by('ngo-it') })
      .thenRefuses('invalid-travel-document-request', ['consulate-not-participant']);
    spec
      .given([requested(), docRequested])
      .when({ type: 'IssueTravelDocument', data: { validFrom: '2026-11-20', validUntil: '2026-12-31' }, metadata: by('consulate-ro-it') })
      .then([docIssued]);
  });

  it('a consular officer of a consulate not taking part cannot issue', () => {
    const other: CaseFacts = { ...adultFacts, participants: [...adultFacts.participants, { organisationId: 'consulate-ro-es', purpose: 'sharing' }] };
    spec
      .given([requested(), docRequested])
      .when({ type: 'IssueTravelDocument', data: { validFrom: '2026-11-20', validUntil: '2026-12-31' }, metadata: by('consulate-ro-es', other) })
      .thenRefuses('not-your-step');
  });

  it('refuses an issue without a pending request, or with a validity that ends before it starts', () => {
    spec
      .given([requested()])
      .when({ type: 'IssueTravelDocument', data: { validFrom: '2026-11-20', validUntil: '2026-12-31' }, metadata: by('consulate-ro-it') })
      .thenRefuses('no-pending-travel-document-request');
    spec
      .given([requested(), docRequested])
      .when({ type: 'IssueTravelDocument', data: { validFrom: '2026-12-20', validUntil: '2026-12-01' }, metadata: by('consulate-ro-it') })
      .thenRefuses('invalid-travel-document', ['valid-until-before-valid-from']);
  });

  it('may be refused with a reason, and then requested again', () => {
    const refused: RepatriationEvent = {
      type: 'TravelDocumentRefused',
      data: { ...ids, consulateId: 'consulate-ro-it', reason: 'identity_not_established', refusedAt: at },
    };
    spec.given([requested(), docRequested]).when({ type: 'RefuseTravelDocument', data: { reason: 'identity_not_established' }, metadata: by('consulate-ro-it') }).then([refused]);
    spec.given([requested(), docRequested, refused]).when({ type: 'RequestTravelDocument', data: { consulateId: 'consulate-ro-it' }, metadata: by('ngo-it') }).then([docRequested]);
    spec.given([requested(), docRequested]).when({ type: 'RequestTravelDocument', data: { consulateId: 'consulate-ro-it' }, metadata: by('ngo-it') }).thenRefuses('travel-document-already-requested');
  });
});

describe('PlanTravel', () => {
  const plan = (departureDate: string, meta = by('ngo-it')): ReturnCommand => ({
    type: 'PlanTravel',
    data: { departureDate, mode: 'air', departureCountry: 'IT', transitCountries: [], escortOrganisationId: null, pointOfArrival: 'OTP airport' },
    metadata: meta,
  });

  it('records the plan, notice counted from the request', () => {
    spec.given([requested()]).when(plan('2026-12-10')).then([planned()]);
  });

  it('flags LateNotification when a new date is too soon, once per return', () => {
    spec
      .given([requested()])
      .when(plan('2026-11-24'))
      .thenMatches((events) => expect(events.map((e) => e.type)).toEqual(['TravelPlanned', 'LateNotificationFlagged']));
    const flagged: RepatriationEvent = {
      type: 'LateNotificationFlagged',
      data: { ...ids, plannedDepartureDate: '2026-11-25', noticeDays: 5, requiredNoticeDays: 10, flaggedAt: at },
    };
    spec
      .given([requested({ plannedDepartureDate: '2026-11-25', noticeDays: 5 }), flagged])
      .when(plan('2026-11-24'))
      .thenMatches((events) => expect(events.map((e) => e.type)).toEqual(['TravelPlanned']));
  });

  it('is planned by the destination partner only', () => {
    spec.given([requested()]).when(plan('2026-12-10', by('anitp'))).thenRefuses('not-your-step');
  });
});

describe('ArrangeReception', () => {
  it('names a receiving organisation taking part in the case', () => {
    spec
      .given([requested()])
      .when({ type: 'ArrangeReception', data: { receivingOrganisationId: 'anitp-rc-bucharest', pointOfArrival: 'OTP airport' }, metadata: by('anitp') })
      .then([reception]);
    spec
      .given([requested()])
      .when({ type: 'ArrangeReception', data: { receivingOrganisationId: 'provider-shelter', pointOfArrival: 'OTP airport' }, metadata: by('anitp') })
      .thenRefuses('invalid-reception', ['receiving-organisation-not-participant']);
  });
});

describe('Departed gates (adult)', () => {
  it('departs when every condition holds', () => {
    spec.given(readyAdult).when(depart()).then([departed]);
  });

  it('refuses naming every unmet condition at once', () => {
    spec
      .given([requested({ escortRequired: true })])
      .when(depart({ ...adultFacts, returnConsent: false }))
      .thenRefuses('departure-conditions-unmet', [
        'consent-to-return-not-in-force',
        'return-request-not-acknowledged',
        'risk-assessment-missing',
        'travel-not-planned',
        'travel-document-missing',
        'reception-not-arranged',
        'escort-missing',
      ]);
  });

  it('consent withdrawn after the request blocks departure', () => {
    spec.given(readyAdult).when(depart({ ...adultFacts, returnConsent: false })).thenRefuses('departure-conditions-unmet', ['consent-to-return-not-in-force']);
  });

  it('an assessment saying do_not_return blocks; a later one of the same side saying proceed lifts it', () => {
    const against = originRisk({ assessmentId: 'ra-2', recommendation: 'do_not_return' });
    spec.given([...readyAdult, against]).when(depart()).thenRefuses('departure-conditions-unmet', ['risk-disagreement-unresolved', 'risk-assessment-advises-against-return']);
    const again = originRisk({ assessmentId: 'ra-3' });
    spec.given([...readyAdult, against, again]).when(depart()).then([departed]);
  });

  it('needs a travel document valid on the day of departure, only when one is needed', () => {
    spec
      .given(readyAdult)
      .when({ ...depart(), metadata: by('ngo-it', adultFacts, new Date('2027-01-05T08:00:00.000Z')) })
      .thenRefuses('departure-conditions-unmet', ['travel-document-not-valid-on-departure']);
    spec.given([requested({ travelDocumentNeeded: false }), acked, originRisk(), riskOk, planned(), reception]).when(depart()).then([departed]);
  });

  it('is recorded by the destination partner only, once, and never after cancellation', () => {
    spec.given(readyAdult).when({ ...depart(), metadata: by('anitp', adultFacts, departDay) }).thenRefuses('not-your-step');
    spec.given([...readyAdult, departed]).when(depart()).thenRefuses('return-already-departed');
    const cancelled: RepatriationEvent = { type: 'ReturnCancelled', data: { ...ids, cancelledBy: 'ngo-it', reason: 'victim_changed_mind', cancelledAt: at } };
    spec.given([...readyAdult, cancelled]).when(depart()).thenRefuses('return-cancelled');
  });

  it('carries the late-notification flag into Departed', () => {
    const flagged: RepatriationEvent = {
      type: 'LateNotificationFlagged',
      data: { ...ids, plannedDepartureDate: '2026-11-25', noticeDays: 5, requiredNoticeDays: 10, flaggedAt: at },
    };
    spec.given([...readyAdult, flagged]).when(depart()).thenMatches((events) => expect(events[0]?.data).toMatchObject({ lateNotification: true }));
  });
});

describe('Departed gates (child)', () => {
  it('departs a child with every safeguard in place', () => {
    spec
      .given(readyChild)
      .when(depart(childFacts))
      .then([{ type: 'Departed', data: { ...departed.data, child: true, escortOrganisationId: 'iom-it' } as never }]);
  });

  it('names every missing child safeguard', () => {
    const noCp: CaseFacts = { ...childFacts, participants: adultFacts.participants };
    spec
      .given(readyAdult)
      .when(depart(noCp))
      .thenRefuses('departure-conditions-unmet', [
        'child-protection-not-participant',
        'guardian-not-appointed',
        'best-interests-determination-missing',
        'family-assessment-missing',
        'escort-missing',
      ]);
  });

  for (const [missing, code] of [
    [guardian, 'guardian-not-appointed'],
    [family, 'family-assessment-missing'],
  ] as const) {
    it(`refuses without ${code.replace(/-/g, ' ')}`, () => {
      spec.given(readyChild.filter((e) => e !== missing)).when(depart(childFacts)).thenRefuses('departure-conditions-unmet', [code]);
    });
  }

  it('refuses without an escort', () => {
    spec
      .given([...readyChild.filter((e) => e.type !== 'TravelPlanned'), planned(null)])
      .when(depart(childFacts))
      .thenRefuses('departure-conditions-unmet', ['escort-missing']);
  });

  it('a negative best-interests determination stops the return: departure refused, other steps refused, cancel allowed', () => {
    const stopped = [...readyChild.filter((e) => e.type !== 'BestInterestsDetermined'), bid(false)];
    spec.given(stopped).when(depart(childFacts)).thenRefuses('departure-conditions-unmet', ['best-interests-against-return']);
    spec
      .given(stopped)
      .when({ type: 'DetermineBestInterests', data: { determinedOn: '2026-11-20', returnInBestInterests: true }, metadata: by('dgaspc-bucharest', childFacts) })
      .thenRefuses('return-stopped');
    spec
      .given(stopped)
      .when({ type: 'ArrangeReception', data: { receivingOrganisationId: 'dgaspc-bucharest', pointOfArrival: 'OTP' }, metadata: by('anitp', childFacts) })
      .thenRefuses('return-stopped');
    spec
      .given(stopped)
      .when({ type: 'CancelReturn', data: { reason: 'best_interests_against_return' }, metadata: by('dgaspc-bucharest', childFacts) })
      .then([{ type: 'ReturnCancelled', data: { ...ids, cancelledBy: 'dgaspc-bucharest', reason: 'best_interests_against_return', cancelledAt: at } }]);
  });

  it('the child safeguards are recorded by child protection taking part, nobody else', () => {
    spec.given([requested({ child: true })]).when({ type: 'AppointGuardian', data: { appointedOn: '2026-11-19' }, metadata: by('dgaspc-bucharest', childFacts) }).then([guardian]);
    spec.given([requested({ child: true })]).when({ type: 'AppointGuardian', data: { appointedOn: '2026-11-19' }, metadata: by('anitp', childFacts) }).thenRefuses('not-your-step');
    spec
      .given([requested({ child: true })])
      .when({ type: 'AssessFamily', data: { assessedOn: '2026-11-19', outcome: 'suitable' }, metadata: by('dgaspc-bucharest', childFacts) })
      .then([family]);
  });

  it('an adult on the planned date needs no child safeguards', () => {
    const turning18: CaseFacts = { ...childFacts, birthYear: 2007 };
    spec.given(readyAdult).when(depart(turning18)).then([departed]);
  });
});

describe('after departure', () => {
  const arrivedEvent: RepatriationEvent = {
    type: 'Arrived',
    data: {
      ...ids,
      receivedBy: 'anitp-rc-bucharest',
      pointOfArrival: 'OTP airport',
      arrivedAt: '2026-12-10T12:00:00.000Z',
      caseNotifiedAt: adultFacts.notifiedAt,
      followUpsDue: [
        { afterDays: 30, dueAt: '2027-01-09T12:00:00.000Z' },
        { afterDays: 90, dueAt: '2027-03-10T12:00:00.000Z' },
        { afterDays: 180, dueAt: '2027-06-08T12:00:00.000Z' },
      ],
    },
  };
  const arrivalTime = new Date('2026-12-10T12:00:00.000Z');

  it('records transit and arrival with follow-up deadlines at 30/90/180 days', () => {
    spec
      .given([...readyAdult, departed])
      .when({ type: 'RecordTransit', data: { country: 'AT' }, metadata: by('ngo-it') })
      .then([{ type: 'TransitRecorded', data: { ...ids, recordedBy: 'ngo-it', country: 'AT', recordedAt: at } }]);
    spec
      .given([...readyAdult, departed])
      .when({ type: 'RecordArrival', data: { pointOfArrival: null }, metadata: by('anitp-rc-bucharest', adultFacts, arrivalTime) })
      .then([arrivedEvent]);
  });

  it('cannot cancel once departed', () => {
    spec.given([...readyAdult, departed]).when({ type: 'CancelReturn', data: { reason: 'victim_changed_mind' }, metadata: by('ngo-it') }).thenRefuses('return-already-departed');
  });

  it('hands over to assistance with the services needed (the contract referrals consumes)', () => {
    spec
      .given([...readyAdult, departed, arrivedEvent])
      .when({ type: 'HandOverToAssistance', data: { services: ['shelter', 'psychological'] }, metadata: by('anitp-rc-bucharest', adultFacts, arrivalTime) })
      .then([
        {
          type: 'HandedOverToAssistance',
          data: { ...ids, receivingOrganisationId: 'anitp-rc-bucharest', services: ['shelter', 'psychological'], handedOverAt: arrivalTime.toISOString() },
        },
      ]);
    spec.given([...readyAdult, departed]).when({ type: 'HandOverToAssistance', data: { services: ['shelter'] }, metadata: by('anitp') }).thenRefuses('not-arrived');
  });

  it('records each follow-up once, late after its deadline, and only scheduled ones', () => {
    const later = new Date('2027-01-20T09:00:00.000Z');
    spec
      .given([...readyAdult, departed, arrivedEvent])
      .when({ type: 'RecordFollowUp', data: { afterDays: 30, situation: 'reintegrating' }, metadata: by('anitp', adultFacts, later) })
      .then([
        {
          type: 'FollowUpRecorded',
          data: { ...ids, afterDays: 30, recordedBy: 'anitp', situation: 'reintegrating', recordedAt: later.toISOString(), dueAt: '2027-01-09T12:00:00.000Z', late: true },
        },
      ]);
    spec
      .given([...readyAdult, departed, arrivedEvent])
      .when({ type: 'RecordFollowUp', data: { afterDays: 45, situation: 'reintegrating' }, metadata: by('anitp') })
      .thenRefuses('invalid-follow-up', ['not-a-scheduled-follow-up']);
  });
});

describe('views', () => {
  it('the next step follows the gates', () => {
    const fold = (events: RepatriationEvent[]) => events.reduce(evolve, initialReturnState());
    expect(nextStep(fold([requested()]), adultFacts, now)).toBe('acknowledge-request');
    const acked = fold([requested(), { type: 'ReturnRequestAcknowledged', data: { ...ids, acknowledgedBy: 'anitp', keyContactId: 'a', alternateContactId: 'b', acknowledgedAt: at, late: false } }]);
    expect(nextStep(acked, adultFacts, now)).toBe('assess-risk');
    expect(departureUnmet(acked, adultFacts, '2026-11-20')).toContain('reception-not-arranged');
  });

  it('before the planned date, views check the travel document on the planned date, not today', () => {
    const fold = (events: RepatriationEvent[]) => events.reduce(evolve, initialReturnState());
    const ready = fold([...readyAdult.slice(0, 5), { ...docIssued, data: { ...(docIssued.data as object), validFrom: '2026-12-01' } as never }, planned(), reception]);
    expect(gateDate(ready, now)).toBe('2026-12-10');
    expect(departureUnmet(ready, adultFacts, gateDate(ready, now))).toEqual([]);
    expect(gateDate(ready, new Date('2026-12-12T00:00:00Z'))).toBe('2026-12-12');
  });
});
