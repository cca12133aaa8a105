import { type Bus, type EventSource, type Logger, type Subscription, startConsumer } from '@trm/bus';
import { HandedOverToAssistanceData } from '@trm/contracts';
import type { Registry } from 'prom-client';
import { v7 as uuidv7 } from 'uuid';
import type { ReferralsContext } from '../context.js';
import { runCaseCommand } from '../handlers/case.handler.js';

export const HANDED_OVER_CONSUMER = 'referrals-on-handed-over';

/**
 * Repatriation's `HandedOverToAssistance` becomes one service referral per service needed, in the
 * case stream, inside the consumer's transaction (with the inbox row: exactly-once effect). The
 * referrals wait for the national contact point to assign a provider. A case closed meanwhile is
 * reopened by the hand-over (CaseReopened, new needs) so the contact point acts on it, never
 * refused in silence; a case unknown here is refused: the message is retried, then dead-lettered
 * (visible to the operator), never dropped.
 */
export function startHandedOverConsumer(ctx: ReferralsContext, opts: { bus: Bus; source?: EventSource; logger?: Logger; metrics?: Registry }): Promise<Subscription> {
  return startConsumer({
    db: ctx.db,
    schema: ctx.schema,
    name: HANDED_OVER_CONSUMER,
    bus: opts.bus,
    filterSubject: `${opts.bus.subjectsPrefix}.repatriation.handed-over-to-assistance`,
    ...(opts.source ? { source: opts.source } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    handle: async (tx, envelope) => {
      const data = HandedOverToAssistanceData.parse(envelope.data);
      const actor = `system:${HANDED_OVER_CONSUMER}`;
      await runCaseCommand(
        ctx,
        tx,
        data.caseId,
        {
          type: 'RecordAssistanceNeeds',
          data: { returnId: data.returnId, services: data.services, referralIds: data.services.map(() => uuidv7()) },
          metadata: { now: ctx.clock(), actor, organisationId: envelope.metadata.organisation, organisationType: null },
        },
        undefined,
        { actor, organisation: envelope.metadata.organisation, correlationId: envelope.metadata.correlationId, causationId: envelope.eventId, requestId: null },
      );
    },
  });
}
