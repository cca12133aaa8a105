import { describe, expect, it } from 'vitest';
import type { ReferralsEvent } from '@trm/contracts';
import { deciderSpec } from '@trm/testing';
import { type CaseCommand, type CommandMetadata, type NotifyCaseData, createCaseDecider } from './case.decider.js';

const caseId = '019a0000-0000-7000-8000-000000000001';
const now = new Date('2026-11-20T10:00:00.000Z');
const ngo: CommandMetadata = { now, actor: 'user-1', organisationId: 'ngo-it', organisationType: 'ngo' };
const anitp: CommandMetadata = { now, actor: 'user-2', organisationId: 'anitp', organisationType: 'national_contact_point' };

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
  personalDataFields: ['givenName'],
};

const notified = createCaseDecider().decide({ type: 'NotifyCase', data: notification, metadata: ngo }, createCaseDecider().initialState());
const rc = { id: 'anitp-rc-bucharest', type: 'national_contact_point' as const, parentOrgId: 'anitp', active: true };
const spec = deciderSpec<CaseCommand, ReferralsEvent, ReturnType<ReturnType<typeof createCaseDecider>['initialState']>>(createCaseDecider());

describe('NotifyCase', () => {
  it('records the notification with derived age band, minority and the 2-day acknowledgement deadline', () => {
    const { addressee: _addressee, ...facts } = notification;
    spec.given([]).when({ type: 'NotifyCase', data: notification, metadata: ngo }).then([
      {
        type: 'CaseNotified',
        schemaVersion: 2,
        data: {
          ...facts,
          nationalContactPointIds: ['anitp'],
          addressedTo: 'anitp',
          internationalProtectionSought: false,
          fearsAuthoritiesOf: [],
          notifyingOrganisationId: 'ngo-it',
          notifyingOrganisationType: 'ngo',
          ageBand: '18-25',
          minor: false,
          minorBasis: null,
          notifiedAt: '2026-11-20T10:00:00.000Z',
          acknowledgementDueAt: '2026-11-22T10:00:00.000Z',
        },
      },
    ]);
  });

  it('takes the acknowledgement deadline from policy, not a constant', () => {
    deciderSpec(createCaseDecider({ acknowledgementDays: 5 }))
      .given([])
      .when({ type: 'NotifyCase', data: notification, metadata: ngo })
      .thenMatches(([event]) => {
        if (event?.type !== 'CaseNotified') throw new Error('expected CaseNotified');
        expect(event.data.acknowledgementDueAt).toBe('2026-11-25T10:00:00.000Z');
      });
  });

  it('treats a person known only by birth year as a possible minor (lower bound of age)', () => {
    spec
      .given([])
      .when({ type: 'NotifyCase', data: { ...notification, ageAtIdentification: null, birthYear: 2008 }, metadata: ngo })
      .thenMatches(([event]) => {
        if (event?.type !== 'CaseNotified' || !event.data.minor || event.data.ageBand !== '14-17') throw new Error('should be a minor');
      });
  });

  it('refuses a second notification of the same case', () => {
    spec.given(notified).when({ type: 'NotifyCase', data: notification, metadata: ngo }).thenRefuses('case-already-exists');
  });

  it('names every inconsistency at once (an unknown age is not one: the person is presumed a child)', () => {
    spec
      .given([])
      .when({
        type: 'NotifyCase',
        data: { ...notification, identificationDate: '2026-12-01', ageAtIdentification: null, returnWanted: false, plannedReturnDate: '2026-12-10' },
        metadata: ngo,
      })
      .thenRefuses('invalid-notification', ['identification-date-in-future', 'planned-return-date-without-return-wanted']);
  });
});

describe('AcknowledgeNotification', () => {
  const ack = { keyContactId: 'officer-1', alternateContactId: 'officer-2', regionalCentre: rc };

  it('records receipt by the national contact point with contacts and regional centre', () => {
    spec.given(notified).when({ type: 'AcknowledgeNotification', data: ack, metadata: anitp }).then([
      {
        type: 'NotificationAcknowledged',
        data: {
          caseId,
          acknowledgedBy: 'anitp',
          keyContactId: 'officer-1',
          alternateContactId: 'officer-2',
          regionalCentreId: 'anitp-rc-bucharest',
          acknowledgedAt: '2026-11-20T10:00:00.000Z',
          late: false,
        },
      },
    ]);
  });

  it('marks an acknowledgement after the deadline as late', () => {
    const later = { ...anitp, now: new Date('2026-11-22T10:00:00.001Z') };
    spec
      .given(notified)
      .when({ type: 'AcknowledgeNotification', data: ack, metadata: later })
      .thenMatches(([event]) => {
        if (event?.type !== 'NotificationAcknowledged' || !event.data.late) throw new Error('should be late');
      });
  });

  it('is refused for an organisation that is not the case’s contact point', () => {
    spec.given(notified).when({ type: 'AcknowledgeNotification', data: ack, metadata: ngo }).thenRefuses('not-the-national-contact-point');
  });

  it('is refused twice', () => {
    const acked = createCaseDecider().decide({ type: 'AcknowledgeNotification', data: ack, metadata: anitp }, notified.reduce(createCaseDecider().evolve, createCaseDecider().initialState()));
    spec.given([...notified, ...acked]).when({ type: 'AcknowledgeNotification', data: ack, metadata: anitp }).thenRefuses('already-acknowledged');
  });

  it('needs a distinct alternate and a regional centre of this contact point', () => {
    spec
      .given(notified)
      .when({
        type: 'AcknowledgeNotification',
        data: { keyContactId: 'a', alternateContactId: 'a', regionalCentre: { ...rc, parentOrgId: 'other', active: false } },
        metadata: anitp,
      })
      .thenRefuses('invalid-acknowledgement', ['alternate-contact-must-differ', 'regional-centre-not-of-this-contact-point', 'regional-centre-inactive']);
  });

  it('is refused for a case that does not exist', () => {
    spec.given([]).when({ type: 'AcknowledgeNotification', data: ack, metadata: anitp }).thenRefuses('case-not-found');
  });
});
