import { describe, expect, it } from 'vitest';
import type { ReferralsEvent } from '@trm/contracts';
import { deciderSpec } from '@trm/testing';
import { type CaseCommand, type CommandMetadata, type CaseState, type NotifyCaseData, createCaseDecider } from './case.decider.js';

const caseId = '019a0000-0000-7000-8000-000000000001';
const now = new Date('2026-11-20T10:00:00.000Z');
const ngo: CommandMetadata = { now, actor: 'u1', organisationId: 'ngo-it', organisationType: 'ngo' };
const anitp: CommandMetadata = { now, actor: 'u2', organisationId: 'anitp', organisationType: 'national_contact_point' };
const shelter: CommandMetadata = { now, actor: 'u3', organisationId: 'provider-shelter', organisationType: 'service_provider' };
const dgaspc: CommandMetadata = { now, actor: 'u4', organisationId: 'dgaspc-bucharest', organisationType: 'child_protection' };
const provider = { id: 'provider-shelter', type: 'service_provider' as const, active: true };
const childProtection = { id: 'dgaspc-bucharest', type: 'child_protection' as const, active: true };
const referralId = '019a0000-0000-7000-8000-0000000000aa';

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
/** Runs commands through the decider to build a history, as the store would. */
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
const notify = (data: Partial<NotifyCaseData> = {}): Cmd => ({ type: 'NotifyCase', data: { ...notification, ...data }, metadata: ngo });
const consent = (purpose: 'assistance' | 'sharing', sharingWith: string | null = null): Cmd => ({ type: 'RecordConsent', data: { purpose, sharingWith, givenOn: '2026-11-20' } });
const refer = (id = referralId): Cmd => ({ type: 'MakeServiceReferral', data: { referralId: id, service: 'shelter', provider } });
const ready = () => [notify(), consent('assistance'), consent('sharing', 'provider-shelter')];

describe('information requests and completeness', () => {
  it('records a request due after the policy days', () => {
    spec
      .given(history(notify()))
      .when({ type: 'RequestInformation', data: { informationRequestId: 'r1', requestedFrom: 'ngo-it', items: ['birthDate'] }, metadata: anitp })
      .then([
        {
          type: 'InformationRequested',
          data: { caseId, informationRequestId: 'r1', requestedBy: 'anitp', requestedFrom: 'ngo-it', items: ['birthDate'], requestedAt: now.toISOString(), dueAt: '2026-11-27T10:00:00.000Z' },
        },
      ]);
    deciderSpec(createCaseDecider({ acknowledgementDays: 2, informationRequestDays: 3, reflectionMaxDays: 90 }))
      .given(history(notify()))
      .when({ type: 'RequestInformation', data: { informationRequestId: 'r1', requestedFrom: 'ngo-it', items: ['birthDate'] }, metadata: anitp })
      .thenMatches(([e]) => expect(e?.type === 'InformationRequested' && e.data.dueAt).toBe('2026-11-23T10:00:00.000Z'));
  });

  it('asks only participants, and only the contact point asks', () => {
    spec
      .given(history(notify()))
      .when({ type: 'RequestInformation', data: { informationRequestId: 'r1', requestedFrom: 'police-it', items: ['birthDate'] }, metadata: anitp })
      .thenRefuses('invalid-information-request', ['requested-organisation-not-a-participant']);
    spec
      .given(history(notify()))
      .when({ type: 'RequestInformation', data: { informationRequestId: 'r1', requestedFrom: 'ngo-it', items: ['birthDate'] }, metadata: ngo })
      .thenRefuses('not-the-national-contact-point');
  });

  it('derives the missing required items and the completeness score from what was provided', () => {
    const asked = history(notify(), { type: 'RequestInformation', data: { informationRequestId: 'r1', requestedFrom: 'ngo-it', items: ['birthDate', 'contacts'] } });
    spec
      .given(asked)
      .when({ type: 'ProvideInformation', data: { informationRequestId: 'r1', items: ['contacts', 'birthDate'] }, metadata: ngo })
      .then([
        {
          type: 'InformationProvided',
          data: {
            caseId,
            informationRequestId: 'r1',
            providedBy: 'ngo-it',
            items: ['birthDate', 'contacts'],
            missingItems: ['documents', 'narrative'],
            completenessScore: 67,
            providedAt: now.toISOString(),
          },
        },
      ]);
  });

  it('is answered once, by the organisation asked, and not after erasure', () => {
    const asked = history(notify(), { type: 'RequestInformation', data: { informationRequestId: 'r1', requestedFrom: 'ngo-it', items: ['birthDate'] } });
    spec.given(asked).when({ type: 'ProvideInformation', data: { informationRequestId: 'r1', items: ['birthDate'] }, metadata: anitp }).thenRefuses('not-the-requested-organisation');
    const answered = [...asked, ...decider.decide({ type: 'ProvideInformation', data: { informationRequestId: 'r1', items: ['birthDate'] }, metadata: ngo }, asked.reduce(decider.evolve, decider.initialState()))];
    spec.given(answered).when({ type: 'ProvideInformation', data: { informationRequestId: 'r1', items: ['birthDate'] }, metadata: ngo }).thenRefuses('information-already-provided');
    const erased = history(notify(), { type: 'RequestInformation', data: { informationRequestId: 'r1', requestedFrom: 'ngo-it', items: ['birthDate'] } }, { type: 'ErasePersonalData', data: { reason: 'subject_request' } });
    spec.given(erased).when({ type: 'ProvideInformation', data: { informationRequestId: 'r1', items: ['birthDate'] }, metadata: ngo }).thenRefuses('personal-data-erased', ['personal-data-erased']);
  });
});

describe('victim status', () => {
  it('records who decided, and refuses a date in the future', () => {
    spec
      .given(history(notify()))
      .when({ type: 'DetermineVictimStatus', data: { status: 'actual', deciderBodyType: 'prosecutor', determinedOn: '2026-11-19' }, metadata: anitp })
      .then([{ type: 'VictimStatusDetermined', data: { caseId, status: 'actual', deciderBodyType: 'prosecutor', determinedOn: '2026-11-19', recordedBy: 'anitp' } }]);
    spec
      .given(history(notify()))
      .when({ type: 'DetermineVictimStatus', data: { status: 'actual', deciderBodyType: 'prosecutor', determinedOn: '2026-11-21' }, metadata: anitp })
      .thenRefuses('invalid-victim-status', ['determined-on-in-future']);
  });
});

describe('reflection period', () => {
  it('grants at least 30 days, ending on the last day of the period', () => {
    spec
      .given(history(notify()))
      .when({ type: 'GrantReflectionPeriod', data: { startsOn: '2026-11-21', days: 30 }, metadata: anitp })
      .then([{ type: 'ReflectionPeriodGranted', data: { caseId, periodNumber: 1, startsOn: '2026-11-21', endsOn: '2026-12-20', days: 30, grantedBy: 'anitp' } }]);
    spec.given(history(notify())).when({ type: 'GrantReflectionPeriod', data: { startsOn: '2026-11-21', days: 29 }, metadata: anitp }).thenRefuses('invalid-reflection-period', ['reflection-period-below-minimum']);
  });

  it('refuses more than the policy maximum, read from policy', () => {
    spec.given(history(notify())).when({ type: 'GrantReflectionPeriod', data: { startsOn: '2026-11-21', days: 91 }, metadata: anitp }).thenRefuses('invalid-reflection-period', ['reflection-period-above-maximum']);
    deciderSpec(createCaseDecider({ acknowledgementDays: 2, informationRequestDays: 7, reflectionMaxDays: 120 }))
      .given(history(notify()))
      .when({ type: 'GrantReflectionPeriod', data: { startsOn: '2026-11-21', days: 100 }, metadata: anitp })
      .thenMatches(([e]) => expect(e?.type).toBe('ReflectionPeriodGranted'));
  });

  it('runs one period at a time and ends it', () => {
    const granted = history(notify(), { type: 'GrantReflectionPeriod', data: { startsOn: '2026-11-21', days: 30 } });
    spec.given(granted).when({ type: 'GrantReflectionPeriod', data: { startsOn: '2026-11-21', days: 30 }, metadata: anitp }).thenRefuses('reflection-period-already-running');
    spec
      .given(granted)
      .when({ type: 'EndReflectionPeriod', data: { endedOn: '2026-11-30', reason: 'victim_decided' }, metadata: anitp })
      .then([{ type: 'ReflectionPeriodEnded', data: { caseId, periodNumber: 1, endedOn: '2026-11-30', reason: 'victim_decided', recordedBy: 'anitp' } }]);
    spec.given(history(notify())).when({ type: 'EndReflectionPeriod', data: { endedOn: '2026-11-30', reason: 'victim_decided' }, metadata: anitp }).thenRefuses('no-reflection-period-running');
  });
});

describe('consent', () => {
  it('names the organisation for sharing only', () => {
    spec.given(history(notify())).when({ type: 'RecordConsent', data: { purpose: 'sharing', sharingWith: null, givenOn: '2026-11-20' }, metadata: anitp }).thenRefuses('invalid-consent', ['sharing-needs-organisation']);
    spec
      .given(history(notify()))
      .when({ type: 'RecordConsent', data: { purpose: 'assistance', sharingWith: 'x', givenOn: '2026-11-21' }, metadata: anitp })
      .thenRefuses('invalid-consent', ['only-sharing-names-an-organisation', 'given-on-in-future']);
  });

  it('withdrawing sharing closes the open referrals of that provider at once', () => {
    spec
      .given(history(...ready(), refer()))
      .when({ type: 'WithdrawConsent', data: { purpose: 'sharing', sharingWith: 'provider-shelter', withdrawnOn: '2026-11-20' }, metadata: anitp })
      .then([
        { type: 'ConsentWithdrawn', data: { caseId, purpose: 'sharing', sharingWith: 'provider-shelter', withdrawnOn: '2026-11-20', recordedBy: 'anitp' } },
        { type: 'ServiceReferralClosed', data: { caseId, referralId, reason: 'consent_withdrawn', closedBy: 'anitp' } },
      ]);
  });

  it('withdrawing assistance closes every open referral; sharing with another organisation closes none', () => {
    spec
      .given(history(...ready(), refer()))
      .when({ type: 'WithdrawConsent', data: { purpose: 'assistance', sharingWith: null, withdrawnOn: '2026-11-20' }, metadata: ngo })
      .thenMatches((events) => expect(events.map((e) => e.type)).toEqual(['ConsentWithdrawn', 'ServiceReferralClosed']));
    spec
      .given(history(...ready(), consent('sharing', 'iom-it'), refer()))
      .when({ type: 'WithdrawConsent', data: { purpose: 'sharing', sharingWith: 'iom-it', withdrawnOn: '2026-11-20' }, metadata: anitp })
      .thenMatches((events) => expect(events.map((e) => e.type)).toEqual(['ConsentWithdrawn']));
  });

  it('refuses withdrawing a consent that is not in force', () => {
    spec.given(history(notify())).when({ type: 'WithdrawConsent', data: { purpose: 'research', sharingWith: null, withdrawnOn: '2026-11-20' }, metadata: anitp }).thenRefuses('consent-not-given', ['consent-in-force']);
  });
});

describe('participants', () => {
  it('adds an organisation whose type fits the purpose', () => {
    spec
      .given(history(notify()))
      .when({ type: 'AddParticipant', data: { organisation: childProtection, purpose: 'child_protection' }, metadata: anitp })
      .then([{ type: 'ParticipantAdded', data: { caseId, organisationId: 'dgaspc-bucharest', organisationType: 'child_protection', purpose: 'child_protection' } }]);
    spec
      .given(history(notify()))
      .when({ type: 'AddParticipant', data: { organisation: { ...provider, active: false }, purpose: 'child_protection' }, metadata: anitp })
      .thenRefuses('invalid-participant', ['organisation-type-does-not-fit-purpose', 'organisation-inactive']);
  });

  it('keeps child protection in a child case', () => {
    spec
      .given(history(notify({ ageAtIdentification: 15 }), { type: 'AddParticipant', data: { organisation: childProtection, purpose: 'child_protection' } }))
      .when({ type: 'RemoveParticipant', data: { organisationId: 'dgaspc-bucharest', purpose: 'child_protection' }, metadata: anitp })
      .thenRefuses('child-protection-required', ['child-protection-participant-required']);
  });
});

describe('service referrals', () => {
  it('needs consent for assistance, for sharing with that provider, and child protection for a child — all named', () => {
    spec
      .given(history(notify({ ageAtIdentification: 15 })))
      .when({ type: 'MakeServiceReferral', data: { referralId, service: 'shelter', provider }, metadata: anitp })
      .thenRefuses('service-referral-refused', ['consent-for-assistance-missing', 'consent-for-sharing-with-provider-missing', 'child-protection-participant-missing']);
    spec
      .given(history(notify(), consent('assistance'), consent('sharing', 'iom-it')))
      .when({ type: 'MakeServiceReferral', data: { referralId, service: 'shelter', provider }, metadata: anitp })
      .thenRefuses('service-referral-refused', ['consent-for-sharing-with-provider-missing']);
  });

  it('refers with consents and makes the provider a participant', () => {
    spec
      .given(history(...ready()))
      .when({ type: 'MakeServiceReferral', data: { referralId, service: 'shelter', provider }, metadata: anitp })
      .then([
        { type: 'ServiceReferralMade', data: { caseId, referralId, service: 'shelter', providerOrgId: 'provider-shelter', madeBy: 'anitp', returnId: null, madeAt: now.toISOString() } },
        { type: 'ParticipantAdded', data: { caseId, organisationId: 'provider-shelter', organisationType: 'service_provider', purpose: 'service_provision' } },
      ]);
  });

  it('lets only its provider accept, and records assistance only once accepted, with a consistent period', () => {
    const made = history(...ready(), refer());
    spec.given(made).when({ type: 'AcceptServiceReferral', data: { referralId }, metadata: anitp }).thenRefuses('not-the-provider');
    spec.given(made).when({ type: 'AcceptServiceReferral', data: { referralId }, metadata: dgaspc }).thenRefuses('service-referral-not-found');
    spec.given(made).when({ type: 'AcceptServiceReferral', data: { referralId }, metadata: shelter }).then([{ type: 'ServiceReferralAccepted', data: { caseId, referralId, acceptedBy: 'provider-shelter' } }]);
    const cost = { amount: '100.00', currency: 'EUR' as const };
    spec.given(made).when({ type: 'RecordAssistanceDelivered', data: { referralId, periodFrom: '2026-11-19', periodTo: '2026-11-20', cost }, metadata: shelter }).thenRefuses('service-referral-not-open', ['referral-accepted']);
    const accepted = history(...ready(), refer(), { type: 'AcceptServiceReferral', data: { referralId }, metadata: shelter });
    spec
      .given(accepted)
      .when({ type: 'RecordAssistanceDelivered', data: { referralId, periodFrom: '2026-11-21', periodTo: '2026-11-22', cost }, metadata: shelter })
      .thenRefuses('invalid-assistance', ['period-in-future']);
    spec
      .given(accepted)
      .when({ type: 'RecordAssistanceDelivered', data: { referralId, periodFrom: '2026-11-20', periodTo: '2026-11-19', cost }, metadata: shelter })
      .thenRefuses('invalid-assistance', ['period-ends-before-it-starts']);
    spec
      .given(accepted)
      .when({ type: 'RecordAssistanceDelivered', data: { referralId, periodFrom: '2026-11-19', periodTo: '2026-11-20', cost }, metadata: shelter })
      .then([{ type: 'AssistanceDelivered', data: { caseId, referralId, service: 'shelter', deliveredBy: 'provider-shelter', periodFrom: '2026-11-19', periodTo: '2026-11-20', cost } }]);
  });

  it('is declined with a reason, after which it cannot be accepted', () => {
    const declined = history(...ready(), refer(), { type: 'DeclineServiceReferral', data: { referralId, reason: 'no_capacity' }, metadata: shelter });
    expect(declined.at(-1)).toEqual({ type: 'ServiceReferralDeclined', data: { caseId, referralId, declinedBy: 'provider-shelter', reason: 'no_capacity' } });
    spec.given(declined).when({ type: 'AcceptServiceReferral', data: { referralId }, metadata: shelter }).thenRefuses('service-referral-not-open', ['referral-made']);
  });

  it('turns needs handed over by repatriation into unassigned referrals, gated when a provider is assigned', () => {
    const needs = history(notify({ ageAtIdentification: 16 }), { type: 'RecordAssistanceNeeds', data: { returnId: 'ret-1', services: ['medical', 'shelter'], referralIds: ['a', 'b'] } });
    expect(needs.filter((e) => e.type === 'ServiceReferralMade').map((e) => e.type === 'ServiceReferralMade' && [e.data.service, e.data.providerOrgId, e.data.returnId])).toEqual([
      ['medical', null, 'ret-1'],
      ['shelter', null, 'ret-1'],
    ]);
    spec
      .given(needs)
      .when({ type: 'AssignServiceReferral', data: { referralId: 'a', provider }, metadata: anitp })
      .thenRefuses('service-referral-refused', ['consent-for-assistance-missing', 'consent-for-sharing-with-provider-missing', 'child-protection-participant-missing']);
  });
});

describe('closed case', () => {
  const closed = () => history(...ready(), refer(), { type: 'GrantReflectionPeriod', data: { startsOn: '2026-11-20', days: 30 } }, { type: 'CloseCase', data: { reason: 'reintegrated' } });

  it('closing closes the open referrals and the running reflection period', () => {
    spec
      .given(history(...ready(), refer(), { type: 'GrantReflectionPeriod', data: { startsOn: '2026-11-20', days: 30 } }))
      .when({ type: 'CloseCase', data: { reason: 'reintegrated' }, metadata: anitp })
      .thenMatches((events) => expect(events.map((e) => e.type)).toEqual(['CaseClosed', 'ServiceReferralClosed', 'ReflectionPeriodEnded']));
  });

  it('refuses changes until reopened, but still lets the personal data be erased', () => {
    spec.given(closed()).when({ type: 'RaiseRiskFlag', data: { kind: 'threat', level: 'high' }, metadata: ngo }).thenRefuses('case-closed', ['case-closed']);
    spec.given(closed()).when({ type: 'MakeServiceReferral', data: { referralId: 'other', service: 'medical', provider }, metadata: anitp }).thenRefuses('case-closed', ['case-closed']);
    spec.given(closed()).when({ type: 'ErasePersonalData', data: { reason: 'subject_request' }, metadata: anitp }).thenMatches(([e]) => expect(e?.type).toBe('PersonalDataErased'));
    const reopened = [...closed(), ...decider.decide({ type: 'ReopenCase', data: { reason: 'new_needs' }, metadata: anitp }, closed().reduce(decider.evolve, decider.initialState()))];
    spec.given(reopened).when({ type: 'RaiseRiskFlag', data: { kind: 'threat', level: 'high' }, metadata: ngo }).thenMatches(([e]) => expect(e?.type).toBe('RiskFlagRaised'));
    spec.given(history(notify())).when({ type: 'ReopenCase', data: { reason: 'new_needs' }, metadata: anitp }).thenRefuses('case-not-closed');
  });
});

describe('monitoring, risk and erasure', () => {
  it('records monitoring by the contact point or child protection only', () => {
    const data = { contactedOn: '2026-11-20', channel: 'phone' as const, wellbeing: 'stable' as const };
    spec.given(history(notify())).when({ type: 'RecordMonitoringContact', data, metadata: anitp }).then([{ type: 'MonitoringContactRecorded', data: { caseId, ...data, recordedBy: 'anitp' } }]);
    spec.given(history(notify())).when({ type: 'RecordMonitoringContact', data, metadata: shelter }).thenRefuses('not-the-national-contact-point');
  });

  it('erases once', () => {
    const erased = history(notify(), { type: 'ErasePersonalData', data: { reason: 'subject_request' } });
    spec.given(erased).when({ type: 'ErasePersonalData', data: { reason: 'subject_request' }, metadata: anitp }).thenRefuses('personal-data-already-erased');
  });
});

describe('deadlines', () => {
  const late: CommandMetadata = { ...anitp, now: new Date('2026-11-22T10:00:00.001Z'), organisationId: 'system', organisationType: null };

  it('records a missed acknowledgement once, and only after it is due', () => {
    spec.given(history(notify())).when({ type: 'RecordDeadlineMissed', data: { deadlineId: 'acknowledgement' }, metadata: { ...late, now } }).thenRefuses('deadline-not-due');
    spec
      .given(history(notify()))
      .when({ type: 'RecordDeadlineMissed', data: { deadlineId: 'acknowledgement' }, metadata: late })
      .then([{ type: 'DeadlineMissed', data: { caseId, deadlineId: 'acknowledgement', kind: 'acknowledgement', dueAt: '2026-11-22T10:00:00.000Z', detectedAt: '2026-11-22T10:00:00.001Z' } }]);
    const missed = history(notify(), { type: 'RecordDeadlineMissed', data: { deadlineId: 'acknowledgement' }, metadata: late });
    spec.given(missed).when({ type: 'RecordDeadlineMissed', data: { deadlineId: 'acknowledgement' }, metadata: late }).thenRefuses('deadline-already-recorded');
  });

  it('does not record a deadline that was met', () => {
    const acked = history(notify(), {
      type: 'AcknowledgeNotification',
      data: { keyContactId: 'a', alternateContactId: 'b', regionalCentre: { id: 'anitp-rc-bucharest', type: 'national_contact_point', parentOrgId: 'anitp', active: true } },
    });
    spec.given(acked).when({ type: 'RecordDeadlineMissed', data: { deadlineId: 'acknowledgement' }, metadata: late }).thenRefuses('deadline-met');
  });

  it('tracks information requests and reflection periods as deadlines', () => {
    const asked = history(notify(), { type: 'RequestInformation', data: { informationRequestId: 'r1', requestedFrom: 'ngo-it', items: ['birthDate'] } }, { type: 'GrantReflectionPeriod', data: { startsOn: '2026-11-20', days: 30 } });
    const later: CommandMetadata = { ...late, now: new Date('2026-12-21T00:00:00.001Z') };
    spec.given(asked).when({ type: 'RecordDeadlineMissed', data: { deadlineId: 'information-request:r1' }, metadata: later }).thenMatches(([e]) => expect(e?.type === 'DeadlineMissed' && e.data.kind).toBe('information_request'));
    spec.given(asked).when({ type: 'RecordDeadlineMissed', data: { deadlineId: 'reflection-period:1' }, metadata: later }).thenMatches(([e]) => expect(e?.type === 'DeadlineMissed' && e.data.dueAt).toBe('2026-12-20T00:00:00.000Z'));
  });
});
