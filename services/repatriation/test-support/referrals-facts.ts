import { randomUUID } from 'node:crypto';
import { type Bus, eventSubject } from '@trm/bus';
import type { EventEnvelope } from '@trm/contracts';

/**
 * Referrals events as the relay would publish them, for tests that run repatriation without the
 * referrals service: repatriation learns about cases only from the bus, so this is the whole input.
 */
export class ReferralsFeed {
  private version = new Map<string, number>();
  constructor(private readonly bus: Bus) {}

  async publish(type: string, data: Record<string, unknown> & { caseId: string }): Promise<string> {
    const eventId = randomUUID();
    const streamVersion = (this.version.get(data.caseId) ?? 0) + 1;
    this.version.set(data.caseId, streamVersion);
    const envelope: EventEnvelope = {
      service: 'referrals',
      eventId,
      type,
      schemaVersion: 1,
      streamId: `case-${data.caseId}`,
      streamVersion,
      globalPosition: String(streamVersion),
      transactionId: '1',
      data,
      metadata: { actor: 'test', organisation: 'ngo-it', correlationId: eventId, causationId: null, requestId: null },
      recordedAt: new Date().toISOString(),
      prevHash: null,
      hash: '0'.repeat(64),
    };
    await this.bus.publish({ subject: eventSubject(this.bus.subjectsPrefix, 'referrals', type), msgId: eventId, data: new TextEncoder().encode(JSON.stringify(envelope)) });
    return eventId;
  }

  /** A case notified by `notifier` to ANITP, with the given age facts. */
  notified(caseId: string, over: Record<string, unknown> = {}) {
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
    });
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
