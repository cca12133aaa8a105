import { describe, expect, it } from 'vitest';
import type { ReferralsEvent } from '@trm/contracts';
import { deciderSpec } from '@trm/testing';
import { type CaseCommand, type CaseState, type CommandMetadata, type ContactPointRef, type NotifyCaseData, createCaseDecider } from './case.decider.js';
import { legalBasesOf, personalDataAccessOf } from './personal-data.rules.js';
import { addresseeUnmet, defaultAddresseeCountry } from './routing.js';

/**
 * Issue 13, finding 3: personal data on a recorded legal basis, and routing. Given/when/then on
 * the case decider and the pure rules: each expectation fails on the code before the fix (the
 * notifier and every contact point read everything, the contact point of the citizenship was
 * added to every case).
 */
const caseId = '019a0000-0000-7000-8000-000000000003';
const now = new Date('2026-11-20T10:00:00.000Z');
const meta = (organisationId: string, organisationType: CommandMetadata['organisationType']): CommandMetadata => ({ now, actor: `u-${organisationId}`, organisationId, organisationType });
const ngo = meta('ngo-it', 'ngo');
const anitp = meta('anitp', 'national_contact_point');
const consulate = meta('consulate-ro-it', 'consulate');
const dgaspc = meta('dgaspc-bucharest', 'child_protection');
const police = meta('police-it', 'law_enforcement');
const cp = (id: string, country: string, extra: Partial<ContactPointRef> = {}): ContactPointRef => ({ id, type: 'national_contact_point', country, parentOrgId: null, active: true, ...extra });
const ANITP = cp('anitp', 'RO');
const NCP_MD = cp('ncp-md', 'MD');
const NCP_UA = cp('ncp-ua', 'UA');
const org = (id: string, type: string, extra: Record<string, unknown> = {}) => ({ id, type: type as never, active: true, ...extra });

/** A Moldovan woman identified in Romania by an NGO (a foreign victim identified there). */
const foreignVictim: NotifyCaseData = {
  caseId,
  situation: 'foreign_victim',
  countryOfIdentification: 'RO',
  countryOfExploitation: 'RO',
  identificationDate: '2026-11-18',
  formsOfExploitation: ['forced_labour'],
  sex: 'female',
  ageAtIdentification: 24,
  birthYear: null,
  citizenship: 'MD',
  traffickedAcrossBorders: true,
  recruiterRelation: 'friend_or_acquaintance',
  returnWanted: false,
  plannedReturnDate: null,
  addressee: ANITP,
  personalDataFields: ['contacts', 'familyName', 'givenName', 'health', 'narrative'],
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
const notify = (data: Partial<NotifyCaseData> = {}, metadata = ngo): Cmd => ({ type: 'NotifyCase', data: { ...foreignVictim, ...data }, metadata });
const share = (sharingWith: string): Cmd => ({ type: 'RecordConsent', data: { purpose: 'sharing', sharingWith, givenOn: '2026-11-20' } });
const withdraw = (sharingWith: string): Cmd => ({ type: 'WithdrawConsent', data: { purpose: 'sharing', sharingWith, withdrawnOn: '2026-11-20' } });
const join = (organisation: ReturnType<typeof org>, purpose: string): CaseCommand => ({ type: 'AddParticipant', data: { organisation, purpose }, metadata: anitp } as CaseCommand);
const ask = (requestedFrom: string, items: string[], id = 'r1'): Cmd => ({ type: 'RequestInformation', data: { informationRequestId: id, requestedFrom, items } } as Cmd);
const answer = (items: string[], metadata: CommandMetadata, id = 'r1'): Cmd => ({ type: 'ProvideInformation', data: { informationRequestId: id, items }, metadata } as Cmd);
const basesOf = (state: CaseState, orgId: string, type: CommandMetadata['organisationType']) => {
  const access = personalDataAccessOf(state, orgId, type);
  return access.allowed ? access.bases : access;
};

describe('routing: the contact point a notification is addressed to coordinates, alone', () => {
  it('defaults to the citizenship for a victim identified abroad, to the country of identification for a foreign victim identified there', () => {
    const abroad = { situation: 'identified_by_international_ngo' as const, citizenship: 'RO' as const, countryOfIdentification: 'IT' as const, internationalProtectionSought: false, fearsAuthoritiesOf: [] };
    expect(defaultAddresseeCountry(abroad)).toBe('RO');
    expect(defaultAddresseeCountry({ ...abroad, situation: 'foreign_victim', citizenship: 'MD', countryOfIdentification: 'RO' })).toBe('RO');
    expect(defaultAddresseeCountry({ ...abroad, citizenship: 'RO', countryOfIdentification: 'RO' })).toBe('RO');
    // Never the citizenship's while international protection is sought, nor when its authorities are feared.
    expect(defaultAddresseeCountry({ ...abroad, citizenship: 'MD', internationalProtectionSought: true })).toBe('IT');
    expect(defaultAddresseeCountry({ ...abroad, citizenship: 'MD', fearsAuthoritiesOf: ['MD'] })).toBe('IT');
    // A citizenship that names no country routes to the country of identification.
    expect(defaultAddresseeCountry({ ...abroad, citizenship: 'stateless' })).toBe('IT');
  });

  it('records the addressee as the only contact point of the case (schema version 2); the citizenship’s is not added', () => {
    spec.given([]).when(notify()).thenMatches(([e]) => {
      expect(e).toMatchObject({ type: 'CaseNotified', schemaVersion: 2 });
      if (e?.type !== 'CaseNotified') throw new Error('expected CaseNotified');
      expect(e.data).toMatchObject({ addressedTo: 'anitp', nationalContactPointIds: ['anitp'], internationalProtectionSought: false, fearsAuthoritiesOf: [] });
    });
    const state = fold(history(notify()));
    expect(state.participants.filter((p) => p.purpose === 'national_contact_point')).toEqual([{ organisationId: 'anitp', purpose: 'national_contact_point' }]);
  });

  it('refuses an addressee that may not coordinate, naming every reason', () => {
    const refuse = (addressee: ContactPointRef, extra: Partial<NotifyCaseData>, unmet: string[]) =>
      spec.given([]).when(notify({ addressee, ...extra })).thenRefuses('invalid-notification', unmet);
    refuse(cp('anitp-rc-bucharest', 'RO', { parentOrgId: 'anitp' }), {}, ['addressee-not-a-central-contact-point']);
    refuse({ ...org('ngo-it', 'ngo'), country: 'IT', parentOrgId: null } as ContactPointRef, {}, ['addressee-not-a-national-contact-point']);
    refuse(cp('ncp-old', 'RO', { active: false }), {}, ['addressee-inactive']);
    refuse(NCP_MD, { internationalProtectionSought: true }, ['international-protection-sought']);
    refuse(NCP_MD, { fearsAuthoritiesOf: ['MD'] }, ['victim-fears-authorities-of-country']);
    expect(addresseeUnmet({ ...foreignVictim, internationalProtectionSought: true, fearsAuthoritiesOf: ['MD'] }, NCP_MD)).toEqual(['victim-fears-authorities-of-country', 'international-protection-sought']);
  });
});

describe('a further contact point (the foreign victim’s own country) joins only with consent', () => {
  it('is refused without the person’s consent to share with it (409, every reason), and joins with it', () => {
    spec.given(history(notify())).when(join(org('ncp-md', 'national_contact_point', { country: 'MD', parentOrgId: null }), 'national_contact_point')).thenRefuses('contact-point-refused', ['consent-for-sharing-with-contact-point-missing']);
    spec.given(history(notify(), share('ncp-md'))).when(join(org('ncp-md', 'national_contact_point', { country: 'MD', parentOrgId: null }), 'national_contact_point')).then([
      { type: 'ParticipantAdded', data: { caseId, organisationId: 'ncp-md', organisationType: 'national_contact_point', purpose: 'national_contact_point' } },
    ]);
  });

  it('never joins while international protection is sought, nor when the person fears that country’s authorities, consent or not', () => {
    const md = org('ncp-md', 'national_contact_point', { country: 'MD', parentOrgId: null });
    spec.given(history(notify({ internationalProtectionSought: true }), share('ncp-md'))).when(join(md, 'national_contact_point')).thenRefuses('contact-point-refused', ['international-protection-sought']);
    spec.given(history(notify({ fearsAuthoritiesOf: ['MD'] }), share('ncp-md'))).when(join(md, 'national_contact_point')).thenRefuses('contact-point-refused', ['victim-fears-authorities-of-country']);
    // While protection is sought, no further contact point at all (a third country's neither).
    const ua = org('ncp-ua', 'national_contact_point', { country: NCP_UA.country, parentOrgId: null });
    spec.given(history(notify({ internationalProtectionSought: true }), share('ncp-ua'))).when(join(ua, 'national_contact_point')).thenRefuses('contact-point-refused', ['international-protection-sought']);
  });

  it('refuses a regional centre, another organisation type, the coordinating contact point itself', () => {
    const consented = history(notify(), share('anitp-rc-iasi'));
    spec.given(consented).when(join(org('anitp-rc-iasi', 'national_contact_point', { country: 'RO', parentOrgId: 'anitp' }), 'national_contact_point')).thenRefuses('invalid-participant', ['contact-point-not-central']);
    spec.given(consented).when(join(org('ngo-md', 'ngo', { country: 'MD', parentOrgId: null }), 'national_contact_point')).thenRefuses('invalid-participant', ['organisation-type-does-not-fit-purpose']);
    spec.given(history(notify(), share('anitp'))).when(join(org('anitp', 'national_contact_point', { country: 'RO', parentOrgId: null }), 'national_contact_point')).thenRefuses('already-a-participant');
  });

  it('leaves the case when that consent is withdrawn; the coordinating contact point cannot be removed', () => {
    const joined = history(notify(), share('ncp-md'), join(org('ncp-md', 'national_contact_point', { country: 'MD', parentOrgId: null }), 'national_contact_point'));
    spec.given(joined).when({ ...withdraw('ncp-md'), metadata: anitp } as CaseCommand).then([
      { type: 'ConsentWithdrawn', data: { caseId, purpose: 'sharing', sharingWith: 'ncp-md', withdrawnOn: '2026-11-20', recordedBy: 'anitp' } },
      { type: 'ParticipantRemoved', data: { caseId, organisationId: 'ncp-md', purpose: 'national_contact_point' } },
    ]);
    spec.given(joined).when({ type: 'RemoveParticipant', data: { organisationId: 'ncp-md', purpose: 'national_contact_point' }, metadata: anitp }).thenMatches(([e]) => expect(e?.type).toBe('ParticipantRemoved'));
    spec.given(joined).when({ type: 'RemoveParticipant', data: { organisationId: 'anitp', purpose: 'national_contact_point' }, metadata: anitp }).thenRefuses('invalid-participant', ['purpose-implied-by-case']);
    // A further contact point does not coordinate: it cannot act for the case.
    spec.given(joined).when({ type: 'DetermineVictimStatus', data: { status: 'actual', deciderBodyType: 'prosecutor', determinedOn: '2026-11-20' }, metadata: meta('ncp-md', 'national_contact_point') }).thenRefuses('not-the-national-contact-point');
  });
});

describe('legal bases of personal-data reads', () => {
  it('gives the notifier only what it collected itself once another organisation answered (no consent)', () => {
    const state = fold(history(notify(), join(org('dgaspc-bucharest', 'child_protection'), 'child_protection'), ask('dgaspc-bucharest', ['birthDate', 'documents']), answer(['birthDate', 'documents'], dgaspc)));
    expect(basesOf(state, 'ngo-it', 'ngo')).toEqual({ contacts: 'collected_by_reader', familyName: 'collected_by_reader', givenName: 'collected_by_reader', health: 'collected_by_reader', narrative: 'collected_by_reader' });
    // With the person's consent to share with it, the notifier reads what a notifier reads.
    const consented = fold(history(notify(), join(org('dgaspc-bucharest', 'child_protection'), 'child_protection'), ask('dgaspc-bucharest', ['birthDate']), answer(['birthDate'], dgaspc), share('ngo-it')));
    expect(basesOf(consented, 'ngo-it', 'ngo')).toMatchObject({ birthDate: 'consent', givenName: 'collected_by_reader' });
  });

  it('ends collected_by_reader for an item another organisation replaced, or added to', () => {
    const answered = history(
      notify({ personalDataFields: ['documents', 'familyName', 'givenName', 'narrative'] }),
      join(org('consulate-ro-it', 'consulate'), 'travel_documents'),
      share('consulate-ro-it'),
      // The consulate reads names and documents (consent): it replaces familyName, adds to documents it reads too.
      ask('consulate-ro-it', ['familyName', 'documents', 'narrative']),
      answer(['documents', 'familyName'], consulate),
    );
    const state = fold(answered);
    expect(state.collectedBy).toMatchObject({ familyName: ['consulate-ro-it'], documents: ['consulate-ro-it'], givenName: ['ngo-it'] });
    expect(basesOf(state, 'ngo-it', 'ngo')).toEqual({ givenName: 'collected_by_reader', narrative: 'collected_by_reader' });
    expect(basesOf(state, 'consulate-ro-it', 'consulate')).toMatchObject({ familyName: 'collected_by_reader', documents: 'collected_by_reader', givenName: 'consent' });
    // A list item added to by someone who could not read it holds both organisations' values.
    const appended = fold(history(notify({ personalDataFields: ['documents', 'givenName'] }), join(org('dgaspc-bucharest', 'child_protection'), 'child_protection'), ask('dgaspc-bucharest', ['documents']), answer(['documents'], dgaspc)));
    expect(appended.collectedBy.documents).toEqual(['dgaspc-bucharest', 'ngo-it']);
    expect(basesOf(appended, 'ngo-it', 'ngo')).toEqual({ givenName: 'collected_by_reader' });
  });

  it('gives the coordinating contact point what coordination needs, health only with consent; a further contact point reads only on consent', () => {
    const state = fold(history(notify()));
    const bases = basesOf(state, 'anitp', 'national_contact_point') as Record<string, string>;
    expect(bases).toMatchObject({ givenName: 'statutory_coordination', narrative: 'statutory_coordination', contacts: 'statutory_coordination' });
    expect(bases).not.toHaveProperty('health');
    expect(basesOf(fold(history(notify(), share('anitp'))), 'anitp', 'national_contact_point')).toMatchObject({ health: 'consent', givenName: 'statutory_coordination' });
    const joined = history(notify(), share('ncp-md'), join(org('ncp-md', 'national_contact_point', { country: 'MD', parentOrgId: null }), 'national_contact_point'));
    expect(basesOf(fold(joined), 'ncp-md', 'national_contact_point')).toMatchObject({ givenName: 'consent', health: 'consent' });
    const withdrawn = history(notify(), share('ncp-md'), join(org('ncp-md', 'national_contact_point', { country: 'MD', parentOrgId: null }), 'national_contact_point'), withdraw('ncp-md'));
    expect(personalDataAccessOf(fold(withdrawn), 'ncp-md', 'national_contact_point')).toMatchObject({ allowed: false });
  });

  it('gives child protection what it needs on a child’s case by statute, on an adult’s only with consent', () => {
    const child = fold(history(notify({ ageAtIdentification: 15 }), join(org('dgaspc-bucharest', 'child_protection'), 'child_protection')));
    expect(basesOf(child, 'dgaspc-bucharest', 'child_protection')).toMatchObject({ givenName: 'statutory_child_protection', health: 'statutory_child_protection' });
    expect(basesOf(child, 'dgaspc-bucharest', 'child_protection')).not.toHaveProperty('narrative');
    const adult = fold(history(notify(), join(org('dgaspc-bucharest', 'child_protection'), 'child_protection')));
    expect(personalDataAccessOf(adult, 'dgaspc-bucharest', 'child_protection')).toEqual({ allowed: false, code: 'consent-required', unmet: ['consent-for-sharing-missing'] });
  });

  it('ends consent-based reads with the withdrawal, for every organisation that read on it', () => {
    const shared: Cmd[] = [notify(), join(org('consulate-ro-it', 'consulate'), 'travel_documents'), share('consulate-ro-it'), share('ngo-it'), share('anitp')];
    const before = fold(history(...shared));
    expect(basesOf(before, 'consulate-ro-it', 'consulate')).toMatchObject({ givenName: 'consent' });
    expect(basesOf(before, 'ngo-it', 'ngo')).toMatchObject({ givenName: 'collected_by_reader', otherNames: 'consent' });
    const after = fold(history(...shared, withdraw('consulate-ro-it'), withdraw('ngo-it'), withdraw('anitp')));
    expect(personalDataAccessOf(after, 'consulate-ro-it', 'consulate')).toMatchObject({ allowed: false, code: 'consent-required' });
    // The others keep what they have on another basis, nothing on the consent.
    expect(Object.values(basesOf(after, 'ngo-it', 'ngo'))).not.toContain('consent');
    expect(basesOf(after, 'anitp', 'national_contact_point')).not.toHaveProperty('health');
  });

  it('never gives law enforcement a statutory basis', () => {
    const state = fold(history(notify({ situation: 'identified_by_law_enforcement', personalDataFields: ['givenName'] }, police), join(org('police-it', 'law_enforcement'), 'law_enforcement')));
    expect(basesOf(state, 'police-it', 'law_enforcement')).toEqual({ givenName: 'collected_by_reader' });
  });

  it('groups the bases of the fields read, as the event records them', () => {
    const state = fold(history(notify(), share('anitp')));
    const access = personalDataAccessOf(state, 'anitp', 'national_contact_point');
    expect(legalBasesOf(access, ['givenName', 'health', 'narrative'])).toEqual([
      { basis: 'statutory_coordination', fields: ['givenName', 'narrative'] },
      { basis: 'consent', fields: ['health'] },
    ]);
  });
});

describe('CaseNotified version 1 (recorded before routing)', () => {
  it('folds with the version 2 defaults: every contact point it named coordinates, nothing recorded about protection', () => {
    const [v2] = history(notify());
    if (v2?.type !== 'CaseNotified') throw new Error('expected CaseNotified');
    const { addressedTo: _a, internationalProtectionSought: _i, fearsAuthoritiesOf: _f, ...v1 } = v2.data;
    const state = decider.evolve(decider.initialState(), { type: 'CaseNotified', data: { ...v1, nationalContactPointIds: ['anitp', 'ncp-md'] } as never, schemaVersion: 1 });
    expect(state).toMatchObject({ addressedTo: null, nationalContactPointIds: ['anitp', 'ncp-md'], internationalProtectionSought: false, fearsAuthoritiesOf: [] });
    expect(basesOf(state, 'ncp-md', 'national_contact_point')).toMatchObject({ givenName: 'statutory_coordination' });
  });
});
