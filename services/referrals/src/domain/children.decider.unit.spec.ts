import { describe, expect, it } from 'vitest';
import type { ReferralsEvent } from '@trm/contracts';
import { deciderSpec } from '@trm/testing';
import { type CaseCommand, type CaseState, type CommandMetadata, type NotifyCaseData, createCaseDecider } from './case.decider.js';
import { defaultAddresseeCountry } from './routing.js';

/**
 * Issue 17 (children, who can be notified) and issue 18 (corrections), given/when/then. Each test
 * fails without its rule.
 */

const caseId = '019a0000-0000-7000-8000-000000000017';
const now = new Date('2026-11-20T10:00:00.000Z');
const ngo: CommandMetadata = { now, actor: 'u1', organisationId: 'ngo-it', organisationType: 'ngo' };
const anitp: CommandMetadata = { now, actor: 'u2', organisationId: 'anitp', organisationType: 'national_contact_point' };
const dgaspc: CommandMetadata = { now, actor: 'u4', organisationId: 'dgaspc-bucharest', organisationType: 'child_protection' };
const police: CommandMetadata = { now, actor: 'u5', organisationId: 'police-it', organisationType: 'law_enforcement' };
const childProtection = { id: 'dgaspc-bucharest', type: 'child_protection' as const, active: true };
const provider = { id: 'provider-shelter', type: 'service_provider' as const, active: true };

const adult: NotifyCaseData = {
  caseId,
  situation: 'identified_by_international_ngo',
  countryOfIdentification: 'IT',
  countryOfExploitation: 'IT',
  identificationDate: '2026-11-18',
  formsOfExploitation: ['forced_labour'],
  sex: 'female',
  ageAtIdentification: 19,
  birthYear: null,
  citizenship: 'RO',
  traffickedAcrossBorders: true,
  recruiterRelation: 'friend_or_acquaintance',
  returnWanted: false,
  plannedReturnDate: null,
  addressee: { id: 'anitp', type: 'national_contact_point', country: 'RO', parentOrgId: null, active: true },
  personalDataFields: ['givenName'],
  childProtection,
};

const decider = createCaseDecider();
const spec = deciderSpec<CaseCommand, ReferralsEvent, CaseState>(decider);
type Cmd = Omit<CaseCommand, 'metadata'> & { metadata?: CommandMetadata };
function run(...commands: Cmd[]): { events: ReferralsEvent[]; state: CaseState } {
  const events: ReferralsEvent[] = [];
  let state = decider.initialState();
  for (const c of commands) {
    const produced = decider.decide({ metadata: anitp, ...c } as CaseCommand, state);
    for (const e of produced) state = decider.evolve(state, e);
    events.push(...produced);
  }
  return { events, state };
}
const history = (...commands: Cmd[]) => run(...commands).events;
const notify = (data: Partial<NotifyCaseData> = {}): Cmd => ({ type: 'NotifyCase', data: { ...adult, ...data }, metadata: ngo });
const notified = (events: ReferralsEvent[]) => {
  const e = events[0];
  if (e?.type !== 'CaseNotified') throw new Error('expected CaseNotified first');
  return e.data;
};
const correct = (attributes: Record<string, unknown>, metadata: CommandMetadata = anitp, personalDataFields: string[] = []): Cmd => ({
  type: 'CorrectAttributes',
  data: { reason: 'data_entry_error', attributes, personalDataFields: personalDataFields as never, childProtection },
  metadata,
});
const assess = (result: 'child' | 'adult', estimatedAge: number | null = null): Cmd => ({
  type: 'AssessAge',
  data: { method: 'multidisciplinary', assessedOn: '2026-11-20', result, estimatedAge },
  metadata: dgaspc,
});

describe('presumption of minority (CETS 197 Art. 10(3))', () => {
  it('accepts a notification without age or birth year and presumes a child, with child protection joining at once', () => {
    spec
      .given([])
      .when({ type: 'NotifyCase', data: { ...adult, ageAtIdentification: null }, metadata: ngo })
      .thenMatches((events) => {
        const d = notified(events);
        expect([d.minor, d.minorBasis, d.ageBand]).toEqual([true, 'presumed', null]);
        expect(events.slice(1)).toEqual([
          { type: 'ChildProtectionRequested', data: { caseId, childProtectionOrgId: 'dgaspc-bucharest', trigger: 'notification', requestedAt: now.toISOString(), dueAt: '2026-11-21T10:00:00.000Z' } },
          { type: 'ParticipantAdded', data: { caseId, organisationId: 'dgaspc-bucharest', organisationType: 'child_protection', purpose: 'child_protection' } },
        ]);
      });
  });

  it('reads an approximate age and a birth year whose lower bound is under 18 as uncertain: presumed; certain facts declare', () => {
    const basis = (data: Partial<NotifyCaseData>) => {
      const d = notified(history(notify(data)));
      return [d.minor, d.minorBasis];
    };
    expect(basis({ ageAtIdentification: 25, ageApproximate: true })).toEqual([true, 'presumed']);
    expect(basis({ ageAtIdentification: null, birthYear: 2008 })).toEqual([true, 'presumed']); // 17 or 18 in 2026
    expect(basis({ ageAtIdentification: null, birthYear: 2010 })).toEqual([true, 'declared']); // 15 or 16
    expect(basis({ ageAtIdentification: 15 })).toEqual([true, 'declared']);
    expect(basis({ ageAtIdentification: 19 })).toEqual([false, null]);
    expect(basis({ ageAtIdentification: null, birthYear: 2007 })).toEqual([false, null]);
  });

  it('adds no child protection to an adult’s case', () => {
    expect(history(notify()).map((e) => e.type)).toEqual(['CaseNotified']);
  });

  it('takes the child protection deadline from policy (24 h by default)', () => {
    deciderSpec(createCaseDecider({ acknowledgementDays: 2, informationRequestDays: 7, reflectionMaxDays: 90, childProtectionHours: 6 }))
      .given([])
      .when({ type: 'NotifyCase', data: { ...adult, ageAtIdentification: 15 }, metadata: ngo })
      .thenMatches((events) => expect(events.find((e) => e.type === 'ChildProtectionRequested')?.data).toMatchObject({ dueAt: '2026-11-20T16:00:00.000Z' }));
  });
});

describe('child protection joins every child’s case at once, with a deadline until it acknowledges', () => {
  it('without a route, the coordinating contact point owns the deadline until it chooses child protection, which then owns it', () => {
    const { state } = run(notify({ ageAtIdentification: 15, childProtection: null }));
    expect(state.deadlines['child-protection']).toMatchObject({ kind: 'child_protection', owners: ['anitp'], met: false });
    expect(state.participants.some((p) => p.purpose === 'child_protection')).toBe(false);
    const after = run(notify({ ageAtIdentification: 15, childProtection: null }), { type: 'AddParticipant', data: { organisation: childProtection, purpose: 'child_protection' } }).state;
    expect(after.deadlines['child-protection']?.owners).toEqual(['anitp', 'dgaspc-bucharest']);
  });

  it('an inactive routed authority is not added: the contact point chooses', () => {
    const events = history(notify({ ageAtIdentification: 15, childProtection: { ...childProtection, active: false } }));
    expect(events.map((e) => e.type)).toEqual(['CaseNotified', 'ChildProtectionRequested']);
  });

  it('is acknowledged by child protection taking part, once; late after the deadline', () => {
    const given = history(notify({ ageAtIdentification: 15 }));
    spec
      .given(given)
      .when({ type: 'AcknowledgeChildProtection', data: {}, metadata: dgaspc })
      .then([{ type: 'ChildProtectionAcknowledged', data: { caseId, acknowledgedBy: 'dgaspc-bucharest', acknowledgedAt: now.toISOString(), late: false } }]);
    spec
      .given(given)
      .when({ type: 'AcknowledgeChildProtection', data: {}, metadata: { ...dgaspc, now: new Date('2026-11-22T10:00:00.000Z') } })
      .thenMatches(([e]) => expect(e?.type === 'ChildProtectionAcknowledged' && e.data.late).toBe(true));
    spec.given(given).when({ type: 'AcknowledgeChildProtection', data: {}, metadata: anitp }).thenRefuses('not-child-protection');
    spec
      .given(history(notify({ ageAtIdentification: 15 }), { type: 'AcknowledgeChildProtection', data: {}, metadata: dgaspc }))
      .when({ type: 'AcknowledgeChildProtection', data: {}, metadata: dgaspc })
      .thenRefuses('child-protection-already-acknowledged');
    expect(run(notify({ ageAtIdentification: 15 }), { type: 'AcknowledgeChildProtection', data: {}, metadata: dgaspc }).state.deadlines['child-protection']?.met).toBe(true);
  });
});

describe('AgeAssessed is the only way out of presumed minority', () => {
  it('only child protection taking part assesses; an adult result ends the presumption', () => {
    const given = history(notify({ ageAtIdentification: null }));
    spec.given(given).when({ ...assess('adult', 22), metadata: anitp } as CaseCommand).thenRefuses('not-child-protection');
    spec
      .given(given)
      .when(assess('adult', 22) as CaseCommand)
      .then([{ type: 'AgeAssessed', data: { caseId, assessedBy: 'dgaspc-bucharest', method: 'multidisciplinary', assessedOn: '2026-11-20', result: 'adult', estimatedAge: 22, ageBand: '18-25', minor: false } }]);
    expect(run(notify({ ageAtIdentification: null }), assess('adult', 22)).state).toMatchObject({ minor: false, minorBasis: null });
    expect(run(notify({ ageAtIdentification: null }), assess('child', 15)).state).toMatchObject({ minor: true, minorBasis: 'assessed' });
    spec.given(given).when(assess('adult', 15) as CaseCommand).thenRefuses('invalid-age-assessment', ['estimated-age-contradicts-result']);
  });

  it('a correction cannot make a child an adult: it stays a presumed child', () => {
    const { state, events } = run(notify({ ageAtIdentification: 15 }), correct({ ageAtIdentification: 25 }));
    expect(state).toMatchObject({ minor: true, minorBasis: 'presumed' });
    expect(events.at(-1)).toMatchObject({ type: 'AttributesCorrected', data: { minor: true, minorBasis: 'presumed', changes: [{ attribute: 'ageAtIdentification', from: 15, to: 25 }] } });
  });

  it('after an adult assessment, an uncertain age does not presume a child again, a declared one makes a child’s case again', () => {
    const base = [notify({ ageAtIdentification: null }), assess('adult', 19)];
    expect(run(...base, correct({ birthYear: 2008 })).state.minor).toBe(false);
    expect(run(...base, correct({ birthYear: 2011 })).state).toMatchObject({ minor: true, minorBasis: 'declared' });
  });
});

describe('minor status follows the facts', () => {
  it('a birth date provided later (InformationProvided) makes the case a child’s, with child protection at once', () => {
    const given = history(notify(), { type: 'RequestInformation', data: { informationRequestId: 'r1', requestedFrom: 'ngo-it', items: ['birthDate'] } });
    spec
      .given(given)
      .when({ type: 'ProvideInformation', data: { informationRequestId: 'r1', items: ['birthDate'], birthYear: 2011, childProtection }, metadata: ngo })
      .thenMatches((events) => {
        expect(events.map((e) => e.type)).toEqual(['InformationProvided', 'ChildProtectionRequested', 'ParticipantAdded']);
        expect(events[0]?.data).toMatchObject({ birthYear: 2011, minor: true, minorBasis: 'presumed', ageBand: '14-17' });
      });
  });

  it('a case notified at 19 and corrected to birth year 2010 is a child’s case: child protection joins, gates follow', () => {
    const { events, state } = run(notify(), correct({ birthYear: 2010, ageAtIdentification: null }));
    expect(events.slice(1).map((e) => e.type)).toEqual(['AttributesCorrected', 'ChildProtectionRequested', 'ParticipantAdded']);
    expect(events[1]).toMatchObject({
      data: { reason: 'data_entry_error', minor: true, minorBasis: 'declared', ageBand: '14-17', changes: [{ attribute: 'birthYear', from: null, to: 2010 }, { attribute: 'ageAtIdentification', from: 19, to: null }] },
    });
    expect(state.deadlines['child-protection']).toMatchObject({ owners: ['dgaspc-bucharest'], met: false });
    // A gate that depends on minority: child protection stays in a child's case.
    spec
      .given(events)
      .when({ type: 'RemoveParticipant', data: { organisationId: 'dgaspc-bucharest', purpose: 'child_protection' }, metadata: anitp })
      .thenRefuses('child-protection-required');
  });
});

describe('corrections (issue 18)', () => {
  it('names old and new values; a correction that changes nothing is refused; dates are checked', () => {
    spec
      .given(history(notify()))
      .when({ type: 'CorrectAttributes', data: { reason: 'new_information', attributes: { sex: 'male', citizenship: ['RO', 'MD'] }, personalDataFields: ['familyName'] }, metadata: anitp })
      .thenMatches(([e]) =>
        expect(e).toMatchObject({
          type: 'AttributesCorrected',
          data: {
            correctedBy: 'anitp',
            changes: [{ attribute: 'sex', from: 'female', to: 'male' }, { attribute: 'citizenship', from: ['RO'], to: ['RO', 'MD'] }],
            personalDataFields: ['familyName'],
            minor: false,
          },
        }),
      );
    spec.given(history(notify())).when({ ...correct({ sex: 'female' }), metadata: anitp } as CaseCommand).thenRefuses('invalid-correction', ['correction-changes-nothing']);
    spec.given(history(notify())).when({ ...correct({ identificationDate: '2026-12-01' }) } as CaseCommand).thenRefuses('invalid-correction', ['identification-date-in-future']);
    spec.given(history(notify())).when({ ...correct({ citizenship: ['RO', 'stateless'] }) } as CaseCommand).thenRefuses('invalid-correction', ['stateless-or-unknown-citizenship-alone']);
    // Dates: a planned return needs return wanted and comes after identification.
    spec.given(history(notify())).when({ ...correct({ plannedReturnDate: '2026-12-01' }) } as CaseCommand).thenRefuses('invalid-correction', ['planned-return-date-without-return-wanted']);
    spec
      .given(history(notify()))
      .when({ ...correct({ returnWanted: true, plannedReturnDate: '2026-12-01' }) } as CaseCommand)
      .thenMatches(([e]) => expect(e?.data).toMatchObject({ changes: [{ attribute: 'returnWanted', from: false, to: true }, { attribute: 'plannedReturnDate', from: null, to: '2026-12-01' }] }));
    spec.given(history(notify())).when({ ...correct({ returnWanted: true, plannedReturnDate: '2026-11-01' }) } as CaseCommand).thenRefuses('invalid-correction', ['planned-return-before-identification']);
  });

  it('the notifier corrects what it submitted within the policy days; others may not', () => {
    spec.given(history(notify())).when(correct({ sex: 'male' }, ngo) as CaseCommand).thenMatches(([e]) => expect(e?.type).toBe('AttributesCorrected'));
    spec.given(history(notify())).when(correct({ sex: 'male' }, { ...ngo, now: new Date('2026-12-21T10:00:00.000Z') }) as CaseCommand).thenRefuses('correction-refused', ['notifier-correction-period-over']);
    deciderSpec(createCaseDecider({ acknowledgementDays: 2, informationRequestDays: 7, reflectionMaxDays: 90, notifierCorrectionDays: 60 }))
      .given(history(notify()))
      .when(correct({ sex: 'male' }, { ...ngo, now: new Date('2026-12-21T10:00:00.000Z') }) as CaseCommand)
      .thenMatches(([e]) => expect(e?.type).toBe('AttributesCorrected'));
    spec.given(history(notify())).when(correct({ sex: 'male' }, police) as CaseCommand).thenRefuses('not-the-national-contact-point');
    // Personal data someone else put in the file is not the notifier's to correct.
    const answered = history(
      notify(),
      { type: 'RequestInformation', data: { informationRequestId: 'r1', requestedFrom: 'anitp', items: ['narrative'] } },
      { type: 'ProvideInformation', data: { informationRequestId: 'r1', items: ['narrative'] }, metadata: anitp },
    );
    spec.given(answered).when(correct({}, ngo, ['narrative']) as CaseCommand).thenRefuses('correction-refused', ['not-submitted-by-notifier:narrative']);
  });
});

describe('consent for a child (CETS 197 Art. 10(4))', () => {
  const child = (recruiterRelation: NotifyCaseData['recruiterRelation'] = 'stranger') => history(notify({ ageAtIdentification: 15, recruiterRelation }));
  const consent = (data: Record<string, unknown>): CaseCommand =>
    ({ type: 'RecordConsent', data: { purpose: 'assistance', sharingWith: null, givenOn: '2026-11-20', ...data }, metadata: anitp }) as CaseCommand;
  it('is given by the guardian, or a parent when no family involvement is recorded, with the child’s views; otherwise refused', () => {
    spec.given(child()).when(consent({})).thenRefuses('child-consent-refused', ['consent-by-guardian-or-parent-required', 'child-views-not-recorded']);
    spec
      .given(child())
      .when(consent({ givenBy: 'guardian', childViews: 'agrees' }))
      .then([{ type: 'ConsentRecorded', data: { caseId, purpose: 'assistance', sharingWith: null, givenOn: '2026-11-20', recordedBy: 'anitp', givenBy: 'guardian', childViews: 'agrees' } }]);
    spec.given(child()).when(consent({ givenBy: 'parent', childViews: 'agrees' })).thenMatches(([e]) => expect(e?.type).toBe('ConsentRecorded'));
    spec.given(child('family_member')).when(consent({ givenBy: 'parent', childViews: 'agrees' })).thenRefuses('child-consent-refused', ['parent-not-allowed-family-involved']);
    spec.given(child()).when(consent({ givenBy: 'guardian' })).thenRefuses('child-consent-refused', ['child-views-not-recorded']);
    // An adult consents for themselves.
    spec.given(history(notify())).when(consent({ givenBy: 'guardian' })).thenRefuses('invalid-consent', ['representative-only-for-a-child']);
  });

  it('a consent the person gave before the case turned out a child’s no longer counts: the guardian’s replaces it', () => {
    const adultConsents: Cmd[] = [
      notify(),
      { type: 'RecordConsent', data: { purpose: 'assistance', sharingWith: null, givenOn: '2026-11-20' } },
      { type: 'RecordConsent', data: { purpose: 'sharing', sharingWith: 'provider-shelter', givenOn: '2026-11-20' } },
    ];
    const refer: CaseCommand = { type: 'MakeServiceReferral', data: { referralId: 'r9', service: 'shelter', provider }, metadata: anitp };
    spec.given(history(...adultConsents)).when(refer).thenMatches(([e]) => expect(e?.type).toBe('ServiceReferralMade'));
    const becameChild = history(...adultConsents, correct({ birthYear: 2011, ageAtIdentification: null }));
    spec.given(becameChild).when(refer).thenRefuses('service-referral-refused', ['consent-for-assistance-not-by-legal-representative', 'consent-for-sharing-not-by-legal-representative']);
    spec
      .given(becameChild)
      .when(consent({ givenBy: 'guardian', childViews: 'agrees' }))
      .thenMatches(([e]) => expect(e).toMatchObject({ type: 'ConsentRecorded', data: { givenBy: 'guardian' } }));
  });

  it('emergency assistance (shelter, medical) may be referred by child protection before any consent, recorded as emergency', () => {
    const refer = (service: string, metadata = dgaspc): CaseCommand =>
      ({ type: 'MakeServiceReferral', data: { referralId: 'e1', service, provider, emergency: true }, metadata }) as CaseCommand;
    spec
      .given(child())
      .when(refer('shelter'))
      .thenMatches((events) => {
        expect(events[0]).toMatchObject({ type: 'ServiceReferralMade', data: { service: 'shelter', providerOrgId: 'provider-shelter', madeBy: 'dgaspc-bucharest', emergency: true } });
        expect(events[1]).toMatchObject({ type: 'ParticipantAdded', data: { purpose: 'service_provision' } });
      });
    spec.given(child()).when(refer('psychological')).thenRefuses('emergency-referral-refused', ['emergency-service-shelter-or-medical']);
    spec.given(history(notify())).when(refer('medical', anitp)).thenRefuses('emergency-referral-refused', ['emergency-referral-only-for-a-child']);
    spec.given(child()).when(refer('medical', ngo)).thenRefuses('emergency-referral-refused', ['emergency-referral-by-child-protection']);
    // Without emergency the consents are still required.
    spec
      .given(child())
      .when({ type: 'MakeServiceReferral', data: { referralId: 'e2', service: 'shelter', provider }, metadata: anitp })
      .thenRefuses('service-referral-refused', ['consent-for-assistance-missing', 'consent-for-sharing-with-provider-missing']);
  });
});

describe('who can be notified', () => {
  it('accepts XK, stateless, unknown and more than one citizenship', () => {
    expect(notified(history(notify({ citizenship: 'XK' }))).citizenship).toBe('XK');
    expect(notified(history(notify({ citizenship: 'stateless' }))).citizenship).toBe('stateless');
    expect(notified(history(notify({ citizenship: 'RO', citizenships: ['RO', 'MD'] }))).citizenships).toEqual(['RO', 'MD']);
    spec.given([]).when({ type: 'NotifyCase', data: { ...adult, citizenship: 'RO', citizenships: ['MD', 'RO'] }, metadata: ngo }).thenRefuses('invalid-notification', ['citizenship-not-first-of-citizenships']);
    spec.given([]).when({ type: 'NotifyCase', data: { ...adult, citizenship: 'RO', citizenships: ['RO', 'unknown'] }, metadata: ngo }).thenRefuses('invalid-notification', ['stateless-or-unknown-citizenship-alone']);
  });

  it('routes an unknown or stateless citizenship to the contact point of the country where the case is handled', () => {
    const f = { situation: 'identified_by_international_ngo' as const, countryOfIdentification: 'IT', internationalProtectionSought: false, fearsAuthoritiesOf: [] };
    expect(defaultAddresseeCountry({ ...f, citizenship: 'unknown' })).toBe('IT');
    expect(defaultAddresseeCountry({ ...f, citizenship: 'stateless' })).toBe('IT');
    expect(defaultAddresseeCountry({ ...f, citizenship: 'XK' })).toBe('XK');
    // A second citizenship of the country of identification: handled there.
    expect(defaultAddresseeCountry({ ...f, citizenship: 'RO', citizenships: ['RO', 'IT'] })).toBe('IT');
  });
});
