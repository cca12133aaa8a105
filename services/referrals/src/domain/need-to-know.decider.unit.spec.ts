import { describe, expect, it } from 'vitest';
import type { ReferralsEvent } from '@trm/contracts';
import { deciderSpec } from '@trm/testing';
import { type CaseCommand, type CaseState, type CommandMetadata, type NotifyCaseData, createCaseDecider } from './case.decider.js';
import { InformationItemsRefused } from './case.errors.js';
import { personalDataAccessOf } from './personal-data.rules.js';

/**
 * Issue 13, as an attacker would try it on the case decider: answers that write what was not
 * asked or overwrite what the answerer cannot read (finding 6), law enforcement on the victim's
 * side (finding 4), a removed organisation kept as a deadline owner (finding 7), a flood of
 * identical risk flags (finding 10).
 */
const caseId = '019a0000-0000-7000-8000-000000000001';
const now = new Date('2026-11-20T10:00:00.000Z');
const ngo: CommandMetadata = { now, actor: 'u1', organisationId: 'ngo-it', organisationType: 'ngo' };
const anitp: CommandMetadata = { now, actor: 'u2', organisationId: 'anitp', organisationType: 'national_contact_point' };
const shelter: CommandMetadata = { now, actor: 'u3', organisationId: 'provider-shelter', organisationType: 'service_provider' };
const dgaspc: CommandMetadata = { now, actor: 'u4', organisationId: 'dgaspc-bucharest', organisationType: 'child_protection' };
const police: CommandMetadata = { now, actor: 'u5', organisationId: 'police-it', organisationType: 'law_enforcement' };
const provider = { id: 'provider-shelter', type: 'service_provider' as const, active: true };
const childProtection = { id: 'dgaspc-bucharest', type: 'child_protection' as const, active: true };
const policeOrg = { id: 'police-it', type: 'law_enforcement' as const, active: true };
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
  personalDataFields: ['contacts', 'documents', 'familyName', 'givenName', 'narrative'],
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
const fold = (events: ReferralsEvent[]) => events.reduce(decider.evolve, decider.initialState());
const notify = (data: Partial<NotifyCaseData> = {}, metadata: CommandMetadata = ngo): Cmd => ({ type: 'NotifyCase', data: { ...notification, ...data }, metadata });
const consent = (purpose: 'assistance' | 'sharing', sharingWith: string | null = null): Cmd => ({ type: 'RecordConsent', data: { purpose, sharingWith, givenOn: '2026-11-20' } });
const ask = (requestedFrom: string, items: Array<'narrative' | 'documents' | 'givenName' | 'health' | 'birthDate' | 'contacts'>, id = 'r1'): Cmd => ({
  type: 'RequestInformation',
  data: { informationRequestId: id, requestedFrom, items },
});
const answer = (items: string[], metadata: CommandMetadata, id = 'r1') =>
  ({ type: 'ProvideInformation', data: { informationRequestId: id, items }, metadata }) as CaseCommand;
/** The shelter takes part through a referral, with the person's consent to share with it. */
const shelterOnCase = () => [notify(), consent('assistance'), consent('sharing', 'provider-shelter'), { type: 'MakeServiceReferral', data: { referralId, service: 'shelter', provider } } as Cmd];

function refusal(run: () => unknown): InformationItemsRefused {
  try {
    run();
  } catch (err) {
    if (err instanceof InformationItemsRefused) return err;
    throw err;
  }
  throw new Error('the command should have been refused');
}

describe('finding 6: an answer writes only what was asked, and adds to what the answerer cannot read', () => {
  it('refuses items outside the request, naming them (never their values), and records nothing', () => {
    const asked = history(notify(), ask('ngo-it', ['birthDate']));
    spec.given(asked).when(answer(['birthDate', 'health', 'narrative'], ngo)).thenRefuses('information-not-requested', ['only-requested-items']);
    const err = refusal(() => decider.decide(answer(['birthDate', 'health', 'narrative'], ngo), fold(asked)));
    expect(err.kind).toBe('invalid');
    expect(err.items).toEqual(['health', 'narrative']);
  });

  it('refuses to overwrite an item already in the file that the answering organisation cannot read', () => {
    // The shelter reads names and contacts only; the narrative came from the NGO.
    const asked = history(...shelterOnCase(), ask('provider-shelter', ['narrative', 'birthDate']));
    spec.given(asked).when(answer(['narrative'], shelter)).thenRefuses('information-overwrite-refused', ['present-items-not-readable']);
    expect(refusal(() => decider.decide(answer(['birthDate', 'narrative'], shelter), fold(asked))).items).toEqual(['narrative']);
    // A new item is simply added.
    spec.given(asked).when(answer(['birthDate'], shelter)).thenMatches(([e]) => expect(e).toMatchObject({ type: 'InformationProvided', data: { items: ['birthDate'] } }));
  });

  it('adds a list item (documents) it cannot read to the existing list, and says so in the event', () => {
    const asked = history(...shelterOnCase(), ask('provider-shelter', ['documents']));
    spec
      .given(asked)
      .when(answer(['documents'], shelter))
      .thenMatches(([e]) => expect(e).toMatchObject({ type: 'InformationProvided', data: { items: ['documents'], appendedItems: ['documents'] } }));
  });

  it('lets an organisation that reads an item replace it', () => {
    // The shelter reads the contacts it needs for its open referral.
    const asked = history(...shelterOnCase(), ask('provider-shelter', ['contacts']));
    spec.given(asked).when(answer(['contacts'], shelter)).thenMatches(([e]) => expect(e?.type === 'InformationProvided' && e.data.appendedItems).toBeUndefined());
    // Once consent is withdrawn it no longer reads them: it cannot overwrite them either.
    const withdrawn = history(...shelterOnCase(), ask('provider-shelter', ['contacts']), { type: 'WithdrawConsent', data: { purpose: 'sharing', sharingWith: 'provider-shelter', withdrawnOn: '2026-11-20' } });
    spec.given(withdrawn).when(answer(['contacts'], shelter)).thenRefuses('information-overwrite-refused', ['present-items-not-readable']);
  });
});

describe('finding 4: law enforcement stays law enforcement', () => {
  it('cannot be added for proceedings_support (the victim’s side)', () => {
    spec
      .given(history(notify()))
      .when({ type: 'AddParticipant', data: { organisation: policeOrg, purpose: 'proceedings_support' }, metadata: anitp })
      .thenRefuses('invalid-participant', ['organisation-type-does-not-fit-purpose']);
    spec
      .given(history(notify()))
      .when({ type: 'AddParticipant', data: { organisation: policeOrg, purpose: 'law_enforcement' }, metadata: anitp })
      .thenMatches(([e]) => expect(e?.type).toBe('ParticipantAdded'));
  });

  it('cannot record or withdraw the victim’s consents, even as the notifying organisation', () => {
    const notified = history(notify({ situation: 'identified_by_law_enforcement' }, police));
    spec
      .given(notified)
      .when({ type: 'RecordConsent', data: { purpose: 'proceedings', sharingWith: null, givenOn: '2026-11-20' }, metadata: police })
      .thenRefuses('law-enforcement-not-victims-side', ['recorder-not-law-enforcement']);
    spec
      .given(notified)
      .when({ type: 'RecordConsent', data: { purpose: 'sharing', sharingWith: 'police-it', givenOn: '2026-11-20' }, metadata: police })
      .thenRefuses('law-enforcement-not-victims-side', ['recorder-not-law-enforcement']);
    const consented = history(notify({ situation: 'identified_by_law_enforcement' }, police), consent('sharing', 'police-it'));
    spec
      .given(consented)
      .when({ type: 'WithdrawConsent', data: { purpose: 'sharing', sharingWith: 'police-it', withdrawnOn: '2026-11-20' }, metadata: police })
      .thenRefuses('law-enforcement-not-victims-side', ['recorder-not-law-enforcement']);
    // The contact point records it.
    spec
      .given(notified)
      .when({ type: 'RecordConsent', data: { purpose: 'proceedings', sharingWith: null, givenOn: '2026-11-20' }, metadata: anitp })
      .thenMatches(([e]) => expect(e?.type).toBe('ConsentRecorded'));
  });

  it('reads only the personal data it submitted itself, unless the person consented to share with it', () => {
    const notified = history(
      notify({ situation: 'identified_by_law_enforcement', personalDataFields: ['familyName', 'givenName'] }, police),
      { type: 'AddParticipant', data: { organisation: childProtection, purpose: 'child_protection' } },
      ask('dgaspc-bucharest', ['narrative', 'health']),
      answer(['health', 'narrative'], dgaspc),
    );
    expect(personalDataAccessOf(fold(notified), 'police-it', 'law_enforcement')).toMatchObject({ allowed: true, fields: ['familyName', 'givenName'] });
    // Another notifier reads what it submitted itself (finding 3: without consent, nothing more).
    expect(personalDataAccessOf(fold(history(notify())), 'ngo-it', 'ngo')).toMatchObject({ allowed: true, fields: ['contacts', 'documents', 'familyName', 'givenName', 'narrative'] });
    const state = fold([...notified, { type: 'ConsentRecorded', data: { caseId, purpose: 'sharing', sharingWith: 'police-it', givenOn: '2026-11-20', recordedBy: 'anitp' } }]);
    const consented = personalDataAccessOf(state, 'police-it', 'law_enforcement');
    // With consent, as notifier, what a notifier reads; its own items stay on its own basis.
    expect(consented).toMatchObject({ allowed: true, bases: { familyName: 'collected_by_reader', health: 'consent', narrative: 'consent' } });
    // A police unit added later, with nothing of its own and no consent, reads nothing.
    const added = history(notify(), { type: 'AddParticipant', data: { organisation: policeOrg, purpose: 'law_enforcement' } });
    expect(personalDataAccessOf(fold(added), 'police-it', 'law_enforcement')).toMatchObject({ allowed: false });
  });
});

describe('finding 7: removal removes', () => {
  it('drops a removed organisation from the owners of the deadlines it had', () => {
    const asked = history(notify(), { type: 'AddParticipant', data: { organisation: childProtection, purpose: 'child_protection' } }, ask('dgaspc-bucharest', ['health']));
    expect(fold(asked).deadlines['information-request:r1']!.owners).toEqual(['dgaspc-bucharest']);
    const removed = history(
      notify(),
      { type: 'AddParticipant', data: { organisation: childProtection, purpose: 'child_protection' } },
      ask('dgaspc-bucharest', ['health']),
      { type: 'RemoveParticipant', data: { organisationId: 'dgaspc-bucharest', purpose: 'child_protection' } },
    );
    expect(fold(removed).deadlines['information-request:r1']!.owners).toEqual([]);
  });

  it('keeps an organisation as owner while it still takes part for another purpose', () => {
    const both = history(
      notify(),
      { type: 'AddParticipant', data: { organisation: { id: 'iom-it', type: 'international_organisation', active: true }, purpose: 'return' } },
      { type: 'AddParticipant', data: { organisation: { id: 'iom-it', type: 'international_organisation', active: true }, purpose: 'proceedings_support' } },
      ask('iom-it', ['documents']),
      { type: 'RemoveParticipant', data: { organisationId: 'iom-it', purpose: 'return' } },
    );
    expect(fold(both).deadlines['information-request:r1']!.owners).toEqual(['iom-it']);
  });
});

describe('finding 10: identical risk flags coalesce, and are never refused', () => {
  const flag = (kind: 're_trafficking' | 'threat' | 'lost_contact', level: 'low' | 'medium' | 'high', metadata: CommandMetadata): CaseCommand => ({ type: 'RaiseRiskFlag', data: { kind, level }, metadata });

  it('records no new event for a flag identical to the open one from the same organisation', () => {
    const raised = history(...shelterOnCase(), flag('threat', 'high', shelter));
    spec.given(raised).when(flag('threat', 'high', shelter)).then([]);
    spec.given(raised).when(flag('threat', 'high', ngo)).thenMatches((events) => expect(events.map((e) => e.type)).toEqual(['RiskFlagRaised']));
    spec.given(raised).when(flag('threat', 'medium', shelter)).thenMatches((events) => expect(events.map((e) => e.type)).toEqual(['RiskFlagRaised']));
    spec.given(raised).when(flag('re_trafficking', 'high', shelter)).thenMatches((events) => expect(events.map((e) => e.type)).toEqual(['RiskFlagRaised']));
  });

  it('compares with the latest flag of that kind from that organisation: raising it again after a change records it', () => {
    const changed = history(...shelterOnCase(), flag('threat', 'high', shelter), flag('threat', 'low', shelter));
    spec.given(changed).when(flag('threat', 'high', shelter)).thenMatches((events) => expect(events).toHaveLength(1));
    spec.given(changed).when(flag('threat', 'low', shelter)).then([]);
  });

  it('starts again once the case is reopened', () => {
    const reopened = history(notify(), flag('re_trafficking', 'high', ngo), { type: 'CloseCase', data: { reason: 'reintegrated' } }, { type: 'ReopenCase', data: { reason: 're_trafficking' } });
    spec.given(reopened).when(flag('re_trafficking', 'high', ngo)).thenMatches((events) => expect(events.map((e) => e.type)).toEqual(['RiskFlagRaised']));
  });

  it('still refuses a non-participant (404 as for a case that does not exist)', () => {
    spec.given(history(notify())).when(flag('threat', 'high', dgaspc)).thenRefuses('case-not-found');
  });
});
