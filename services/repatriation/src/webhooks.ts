import type { EventEnvelope } from '@trm/contracts';
import type { WebhookNotifier } from '@trm/runtime';
import { sql } from 'kysely';
import { isCaseParticipant } from './domain/case-facts.js';
import { returnPurposesOf, visibleTimeline } from './http/return-access.js';
import { loadCaseFacts } from './repositories/case-facts.repository.js';
import { findReturnForOrganisation } from './repositories/return.repository.js';

const RETURN_STREAM = 'return-';

/**
 * Who is notified of an event of repatriation (WEBHOOK_RECIPIENTS): the organisations taking part
 * in the case whose purposes in the return (returnPurposesOf) show the entry on the return's
 * timeline (visibleTimeline), exactly as GET /v1/returns/:returnId would list it.
 */
export function repatriationWebhookNotifier(schema: string): WebhookNotifier {
  const orgTypeOf = async (db: Parameters<WebhookNotifier['takesPart']>[0], orgId: string): Promise<string | undefined> => {
    const { rows } = await sql<{ type: string }>`select type from registry.organisations where id = ${orgId}`.execute(db);
    return rows[0]?.type;
  };
  return {
    async about(tx, envelope: EventEnvelope) {
      if (!envelope.streamId.startsWith(RETURN_STREAM)) return undefined;
      const returnId = envelope.streamId.slice(RETURN_STREAM.length);
      const { rows } = await sql<{ case_id: string }>`select case_id from ${sql.table(`${schema}.returns`)} where return_id = ${returnId}`.execute(tx);
      return rows[0] ? { caseId: rows[0].case_id, returnId } : undefined;
    },
    async audience(tx, envelope, about, candidates) {
      const out = new Set<string>();
      const facts = await loadCaseFacts(tx, schema, about.caseId);
      if (!facts) return out;
      for (const orgId of candidates) {
        if (!isCaseParticipant(facts, orgId)) continue;
        const found = await findReturnForOrganisation(tx, schema, about.returnId!, orgId);
        if (!found) continue;
        const orgType = await orgTypeOf(tx, orgId);
        if (!orgType) continue;
        const purposes = returnPurposesOf(facts, found.state, orgId, orgType);
        if (visibleTimeline([{ type: envelope.type }], purposes).length > 0) out.add(orgId);
      }
      return out;
    },
    async takesPart(db, about, orgId) {
      const facts = await loadCaseFacts(db, schema, about.caseId);
      if (!facts || !isCaseParticipant(facts, orgId)) return false;
      return about.returnId ? (await findReturnForOrganisation(db, schema, about.returnId, orgId)) !== undefined : true;
    },
  };
}
