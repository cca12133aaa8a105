import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '@trm/platform';
import { type Stack, startReferralsStack } from './support/stack.js';
import { appendSourceEvent } from './support/source-events.js';

/**
 * One case from notification to closure, driven as the demo organisations would drive it with
 * `npm run token` tokens against `make run` (docs/referrals.md walks through the same steps).
 */
const T0 = new Date('2026-11-20T09:00:00.000Z');
const DAY = 86_400_000;
let stack: Stack;
const as: Record<string, string> = {};

beforeAll(async () => {
  stack = await startReferralsStack({ now: T0, env: { TRM_DEADLINE_SCAN_SECONDS: '3600' } });
  const orgs: Array<[string, string, Role[]]> = [
    ['ngo', 'ngo-it', ['notifier', 'case_officer']],
    ['anitp', 'anitp', ['case_officer']],
    ['centre', 'anitp-rc-bucharest', ['case_officer']],
    ['dgaspc', 'dgaspc-bucharest', ['child_protection_officer']],
    ['shelter', 'provider-shelter', ['service_provider']],
    ['consulate', 'consulate-ro-it', ['consular_officer']],
  ];
  for (const [name, org, roles] of orgs) as[name] = await stack.token(org, roles);
});
afterAll(async () => stack?.close());

async function send(who: string, method: 'GET' | 'POST', url: string, payload?: object, expected = 200) {
  const res = await stack.app.inject({ method, url, headers: { authorization: `Bearer ${as[who]}` }, ...(payload ? { payload } : {}) });
  expect(res.statusCode, `${who} ${method} ${url}: ${res.body.slice(0, 300)}`).toBe(expected);
  return res.json();
}
const at = (days: number) => (stack.clock.now = new Date(T0.getTime() + days * DAY));

describe('a child’s case, notification to closure', () => {
  it('walks every stage as the organisations involved', async () => {
    // 1. Identification and notification by the Italian NGO.
    const created = await send(
      'ngo',
      'POST',
      '/v1/cases',
      {
        situation: 'child_victim',
        countryOfIdentification: 'IT',
        countryOfExploitation: 'IT',
        identificationDate: '2026-11-19',
        formsOfExploitation: ['forced_begging'],
        sex: 'male',
        age: 15,
        citizenship: 'RO',
        traffickedAcrossBorders: true,
        recruiterRelation: 'family_member',
        returnWanted: true,
        plannedReturnDate: '2026-12-15',
        person: { givenName: 'Mihai', familyName: 'Example', contacts: { phone: '+39 333 111 2222' } },
      },
      201,
    );
    const caseId: string = created.caseId;
    const c = `/v1/cases/${caseId}`;
    expect(created.minor).toBe(true);
    expect((await send('consulate', 'GET', c, undefined, 404)).code).toBe('not-found');

    // 2. ANITP acknowledges within the 2 days, assigning the Bucharest regional centre.
    at(1);
    const acked = await send('anitp', 'POST', `${c}/acknowledgement`, { keyContactId: 'officer-ionescu', alternateContactId: 'officer-popa', regionalCentreId: 'anitp-rc-bucharest' });
    expect(acked.acknowledgement.late).toBe(false);

    // 3. Missing data: the regional centre asks the NGO, which answers into the vault.
    const asked = await send('centre', 'POST', `${c}/information-requests`, { requestedFrom: 'ngo-it', items: ['birthDate', 'documents', 'narrative'] }, 201);
    expect(asked.case.completeness.missingItems).toEqual(['birthDate', 'documents', 'narrative']);
    expect((await send('ngo', 'GET', '/v1/deadlines')).items.map((d: { kind: string }) => d.kind)).toEqual(['information_request']);
    const answered = await send('ngo', 'POST', `${c}/information-requests/${asked.id}/answer`, {
      person: { birthDate: '2011-04-02', documents: [{ kind: 'birth_certificate', number: 'BC-001', issuingCountry: 'RO' }], narrative: 'Brought to beg in Rome by an uncle.' },
    });
    expect(answered.completeness.score).toBe(100);

    // 4. Status and protection: actual victim, 30-day reflection period.
    await send('anitp', 'POST', `${c}/victim-status`, { status: 'actual', deciderBodyType: 'prosecutor', determinedOn: '2026-11-21' });
    await send('anitp', 'POST', `${c}/reflection-period`, { startsOn: '2026-11-21', days: 30 });

    // 5. Child protection joined the child's case at notification (routing policy); a referral needs consent for each recipient,
    // given for a child by the appointed guardian with the child's views (issue 17).
    const gated = await send('anitp', 'POST', `${c}/service-referrals`, { service: 'shelter', providerOrganisationId: 'provider-shelter' }, 409);
    expect(gated.unmet.sort()).toEqual(['consent-for-assistance-missing', 'consent-for-sharing-with-provider-missing']);
    await send('anitp', 'POST', `${c}/participants`, { organisationId: 'dgaspc-bucharest', purpose: 'child_protection' });
    await send('dgaspc', 'POST', `${c}/child-protection/acknowledgement`, {});
    const guardian = { givenBy: 'guardian', childViews: 'agrees' };
    await send('ngo', 'POST', `${c}/consents`, { purpose: 'assistance', givenOn: '2026-11-21', ...guardian });
    await send('ngo', 'POST', `${c}/consents`, { purpose: 'sharing', sharingWith: 'provider-shelter', givenOn: '2026-11-21', ...guardian });
    await send('ngo', 'POST', `${c}/consents`, { purpose: 'sharing', sharingWith: 'dgaspc-bucharest', givenOn: '2026-11-21', ...guardian });

    // 6. Shelter: referred, accepted, delivered with its cost, completed.
    const referral = await send('anitp', 'POST', `${c}/service-referrals`, { service: 'shelter', providerOrganisationId: 'provider-shelter' }, 201);
    const r = `${c}/service-referrals/${referral.id}`;
    const providerView = await send('shelter', 'GET', c);
    expect(providerView.view).toBe('service_provider');
    expect(providerView).not.toHaveProperty('attributes');
    const contact = await send('shelter', 'GET', `${c}/personal-data?purpose=assistance`);
    expect(Object.keys(contact.data).sort()).toEqual(['contacts', 'familyName', 'givenName']);
    await send('shelter', 'POST', `${r}/acceptance`, {});
    at(12);
    await send('shelter', 'POST', `${r}/assistance`, { periodFrom: '2026-11-22', periodTo: '2026-12-01', cost: { amount: '1250.00', currency: 'RON' } });
    await send('shelter', 'POST', `${r}/closure`, { reason: 'completed' });

    // 7. Return: repatriation hands the child over to assistance; a medical referral waits for a provider.
    await appendSourceEvent(stack.db, stack.bus, {
      service: 'repatriation',
      streamId: `return-${caseId}`,
      type: 'HandedOverToAssistance',
      data: { caseId, returnId: 'return-1', receivingOrganisationId: 'dgaspc-bucharest', services: ['medical'], handedOverAt: stack.clock.now.toISOString() },
      organisation: 'iom-it',
      actor: 'user-of-iom',
      now: stack.clock.now,
      relays: stack.relays,
    });
    let medical: { referralId: string } | undefined;
    const until = Date.now() + 20_000;
    while (!medical && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 100));
      medical = (await send('anitp', 'GET', c)).referrals.find((x: { service: string }) => x.service === 'medical');
    }
    expect(medical).toBeDefined();
    const m = `${c}/service-referrals/${medical!.referralId}`;
    await send('anitp', 'POST', `${m}/assignment`, { providerOrganisationId: 'provider-shelter' });
    await send('shelter', 'POST', `${m}/decline`, { reason: 'service_not_offered' });

    // 8. Child protection monitors the child and reads what its purpose allows.
    const cpView = await send('dgaspc', 'POST', `${c}/monitoring-contacts`, { contactedOn: '2026-12-02', channel: 'in_person', wellbeing: 'stable' });
    expect(cpView.view).toBe('child_protection');
    const cpData = await send('dgaspc', 'GET', `${c}/personal-data?purpose=child_protection`);
    expect(cpData.data).not.toHaveProperty('narrative');
    await send('shelter', 'POST', `${c}/risk-flags`, { kind: 'threat', level: 'medium' });

    // 9. Deadlines: the reflection period ends soon; ANITP sees it.
    at(26);
    const deadlines = await send('centre', 'GET', '/v1/deadlines');
    expect(deadlines.items).toEqual([expect.objectContaining({ caseId, kind: 'reflection_period', state: 'ending_soon' })]);
    await send('anitp', 'POST', `${c}/reflection-period/end`, { endedOn: '2026-12-16', reason: 'victim_decided' });

    // 10. Closure; a closed case refuses changes until reopened.
    const closed = await send('anitp', 'POST', `${c}/closure`, { reason: 'reintegrated' });
    expect(closed.status).toBe('closed');
    expect((await send('shelter', 'POST', `${c}/risk-flags`, { kind: 'threat', level: 'high' }, 409)).unmet).toEqual(['case-closed']);

    // 11. The whole story, in order, with who did what.
    const timeline = await send('anitp', 'GET', `${c}/timeline`);
    const types = timeline.entries.filter((e: { type: string }) => e.type !== 'PersonalDataAccessed').map((e: { type: string }) => e.type);
    expect(types).toEqual([
      'CaseNotified',
      // A child's case: child protection joins at notification (routing policy) and acknowledges.
      'ChildProtectionRequested',
      'ParticipantAdded',
      'NotificationAcknowledged',
      'InformationRequested',
      'InformationProvided',
      'VictimStatusDetermined',
      'ReflectionPeriodGranted',
      'ChildProtectionAcknowledged',
      'ConsentRecorded',
      'ConsentRecorded',
      'ConsentRecorded',
      'ServiceReferralMade',
      'ParticipantAdded',
      'ServiceReferralAccepted',
      'AssistanceDelivered',
      'ServiceReferralClosed',
      'ServiceReferralMade',
      'ServiceReferralAssigned',
      'ServiceReferralDeclined',
      'MonitoringContactRecorded',
      'RiskFlagRaised',
      'ReflectionPeriodEnded',
      'CaseClosed',
    ]);
    expect(timeline.entries.filter((e: { type: string }) => e.type === 'PersonalDataAccessed').map((e: { organisationId: string }) => e.organisationId)).toEqual(['provider-shelter', 'dgaspc-bucharest']);

    // 12. Erasure on request: the record stays, the personal data is gone.
    await send('anitp', 'POST', `${c}/personal-data/erasure`, { reason: 'subject_request' });
    expect((await send('ngo', 'GET', `${c}/personal-data?purpose=case_management`)).status).toBe('erased');
  });
});
