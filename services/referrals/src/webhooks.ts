import type { EventEnvelope } from '@trm/contracts';
import type { WebhookNotifier } from '@trm/runtime';
import { sql } from 'kysely';
import { timelineEntryOf, timelineViewerOf } from './http/case-access.js';
import { findCaseForOrganisation } from './repositories/case.repository.js';

/**
 * Who is notified of an event of referrals (WEBHOOK_RECIPIENTS): exactly the organisations whose
 * case timeline (GET /v1/cases/:caseId/timeline) would list it, decided by the same function
 * (timelineEntryOf), among the organisations taking part in the case now.
 */
export function referralsWebhookNotifier(schema: string): WebhookNotifier {
  return {
    about(_tx, envelope: EventEnvelope) {
      // Reads of personal data (their own case-access-<id> stream) are never notified.
      if (!envelope.streamId.startsWith('case-') || envelope.streamId.startsWith('case-access-')) return undefined;
      if (envelope.type === 'PersonalDataAccessed') return undefined;
      return { caseId: envelope.streamId.slice('case-'.length) };
    },
    async audience(tx, envelope, about, candidates) {
      const out = new Set<string>();
      for (const orgId of candidates) {
        const record = await findCaseForOrganisation(tx, schema, about.caseId, orgId);
        if (!record) continue; // not taking part (or no longer)
        const viewer = await timelineViewerOf(tx, schema, record, orgId);
        if (timelineEntryOf(viewer, envelope)) out.add(orgId);
      }
      return out;
    },
    async takesPart(db, about, orgId) {
      const { rows } = await sql`select 1 from ${sql.table(`${schema}.case_participants`)} where case_id = ${about.caseId} and organisation_id = ${orgId} limit 1`.execute(db);
      return rows.length > 0;
    },
  };
}
