import type { RouteAccessEntry } from './access-matrix.js';

/**
 * Webhooks in the access matrix (docs/ACCESS.md, webhooks; docs/integration.md): the routes an
 * organisation's admin manages its own subscriptions with, and who is notified of an event.
 *
 * A notification is thin: it says that something happened and where to read it
 * (WEBHOOK_PAYLOAD_FIELDS), never what: the partner reads the case or the return through the
 * API, where the matrix applies again. Who is notified follows the timelines (WEBHOOK_RECIPIENTS).
 */
export const WEBHOOK_RECIPIENTS = [
  'only organisations taking part in the case, at the time of the notification and again at each delivery attempt (a removed participant, never)',
  'referrals events: an organisation is notified when its purposes show the entry on the case timeline (CASE_TIMELINE: all, entry, related when related), exactly as GET /v1/cases/:caseId/timeline would list it',
  'repatriation events: when its purposes show the entry on the return timeline (RETURN_TIMELINE through RETURN_FIELDS), as GET /v1/returns/:returnId would list it',
  'never of its own acts; never of reads of personal data (PersonalDataAccessed); proceedings, ledger and statistics events: not notified',
  'a subscription is limited to its organisation, and to the event types it names',
];

/** Every field of a notification's body: ids, the type and the time, never event data or personal data. */
export const WEBHOOK_PAYLOAD_FIELDS = ['id', 'type', 'service', 'caseId', 'returnId', 'occurredAt'] as const;

const ADMIN = { service: 'webhooks', roles: ['admin'] } as const satisfies RouteAccessEntry;

export const WEBHOOK_ROUTES: Record<string, RouteAccessEntry> = {
  'GET /v1/webhooks/keys': { service: 'webhooks', public: true },
  'POST /v1/webhooks': { ...ADMIN, note: 'For the caller\'s own organisation; recipients as WEBHOOK_RECIPIENTS says.' },
  'GET /v1/webhooks': { ...ADMIN, note: 'The caller\'s organisation\'s subscriptions only.' },
  'DELETE /v1/webhooks/:webhookId': { ...ADMIN, note: 'Only a subscription of the caller\'s organisation (another\'s: 404).' },
  'GET /v1/webhooks/:webhookId/deliveries': { ...ADMIN, note: 'Only a subscription of the caller\'s organisation (another\'s: 404).' },
  'POST /v1/webhooks/:webhookId/deliveries/:deliveryId/redelivery': { ...ADMIN, note: 'Only a subscription of the caller\'s organisation (another\'s: 404).' },
};
