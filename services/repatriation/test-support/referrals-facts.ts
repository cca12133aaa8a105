import type { Bus } from '@trm/bus';
import type { Db } from '@trm/db';
import { appendSourceEvent } from '../../../tests/support/source-events.js';

/**
 * Referrals events as the referrals service records them, for tests that run repatriation without
 * the referrals service: each is appended to referrals' own events table (consumers read events
 * from their source, never from a message alone) and published as its relay would.
 */
export class ReferralsFeed {
  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
  ) {}

  async publish(type: string, data: Record<string, unknown> & { caseId: string }, schemaVersion?: number): Promise<string> {
    return appendSourceEvent(this.db, this.bus, { service: 'referrals', streamId: `case-${data.caseId}`, type, data, organisation: 'ngo-it', ...(schemaVersion !== undefined ? { schemaVersion } : {}) });
  }

  /** A case notified by `notifier` to ANITP, with the given age facts (schema version 1 unless `schemaVersion`). */
  notified(caseId: string, over: Record<string, unknown> = {}, schemaVersion?: number) {
    return this.publish('CaseNotified', {
      caseId,
      situation: 'identified_by_international_ngo',
      notifyingOrganisationId: 'ngo-it',
      notifyingOrganisationType: 'ngo',
      countryOfIdentification: 'IT',
      countryOfExploitation: 'IT',
      identificationDate: '2026-11-18',
      formsOfExploitation: ['forced_labour'],
      sex: 'female',
      ageAtIdentification: 24,
      birthYear: null,
      ageBand: '18-25',
      minor: false,
      citizenship: 'RO',
      traffickedAcrossBorders: true,
      recruiterRelation: 'friend_or_acquaintance',
      returnWanted: true,
      plannedReturnDate: null,
      nationalContactPointIds: ['anitp'],
      personalDataFields: ['givenName'],
      notifiedAt: '2026-11-18T09:00:00.000Z',
      acknowledgementDueAt: '2026-11-20T09:00:00.000Z',
      ...over,
    }, schemaVersion);
  }

  acknowledged(caseId: string) {
    return this.publish('NotificationAcknowledged', {
      caseId,
      acknowledgedBy: 'anitp',
      keyContactId: 'officer-ionescu',
      alternateContactId: 'officer-popa',
      regionalCentreId: 'anitp-rc-bucharest',
      acknowledgedAt: '2026-11-19T09:00:00.000Z',
      late: false,
    });
  }

  participant(caseId: string, organisationId: string, organisationType: string, purpose: string) {
    return this.publish('ParticipantAdded', { caseId, organisationId, organisationType, purpose });
  }

  consent(caseId: string) {
    return this.publish('ConsentRecorded', { caseId, purpose: 'return', sharingWith: null, givenOn: '2026-11-19', recordedBy: 'ngo-it' });
  }

  withdrawal(caseId: string) {
    return this.publish('ConsentWithdrawn', { caseId, purpose: 'return', sharingWith: null, withdrawnOn: '2026-11-20', recordedBy: 'ngo-it' });
  }
}

/** Polls until `check` returns something truthy, or fails after the deadline. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, what: string, deadlineMs = 15_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
