import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { notFound } from '@trm/platform';
import type { RecordedEvent } from '@trm/event-store';
import type { ReferralsContext } from '../context.js';
import { loadCase } from '../handlers/case.handler.js';
import { findCaseForOrganisation } from '../repositories/case.repository.js';
import { CaseIdParams } from './case.schemas.js';
import { Timeline } from './case-views.schemas.js';
import { viewFor } from './case-views.js';

/** Event types whose details each non-coordinating view may read (events never hold personal data; some hold what a purpose does not need). */
const DETAILS: Record<string, ReadonlySet<string>> = {
  notifier: new Set(['CaseNotified', 'NotificationAcknowledged', 'InformationRequested', 'InformationProvided', 'VictimStatusDetermined', 'ReflectionPeriodGranted', 'ReflectionPeriodEnded', 'CaseClosed', 'CaseReopened']),
  child_protection: new Set([
    'NotificationAcknowledged',
    'ParticipantAdded',
    'ParticipantRemoved',
    'VictimStatusDetermined',
    'ReflectionPeriodGranted',
    'ReflectionPeriodEnded',
    'ServiceReferralMade',
    'ServiceReferralAssigned',
    'ServiceReferralAccepted',
    'ServiceReferralDeclined',
    'ServiceReferralClosed',
    'MonitoringContactRecorded',
    'RiskFlagRaised',
    'CaseClosed',
    'CaseReopened',
  ]),
  service_provider: new Set(['ServiceReferralMade', 'ServiceReferralAssigned', 'ServiceReferralAccepted', 'ServiceReferralDeclined', 'AssistanceDelivered', 'ServiceReferralClosed']),
  participant: new Set(),
};

export async function caseTimelineRoutes(app: FastifyInstance, ctx: ReferralsContext): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/cases/:caseId/timeline',
    {
      config: { access: { roles: ['case_officer', 'notifier', 'consular_officer', 'service_provider', 'child_protection_officer', 'proceedings_coordinator'] } },
      schema: {
        tags: ['cases'],
        summary: 'Every event of the case, in order, with who did what',
        description:
          'The contact points see every event with its details, the user who acted and every recorded read of personal data. Other participants see each event’s type, time and organisation, and details only where their purpose allows (a provider: its own referral).',
        params: CaseIdParams,
        response: { 200: Timeline },
      },
    },
    async (request) => {
      const { caseId } = request.params;
      const orgId = request.principal.orgId;
      const { state, events, access } = await ctx.db.transaction().execute(async (tx) => {
        if (!(await findCaseForOrganisation(tx, ctx.schema, caseId, orgId))) throw notFound('case');
        const { state } = await loadCase(ctx, tx, caseId);
        return { state, events: await ctx.store.readStream(tx, `case-${caseId}`), access: await ctx.store.readStream(tx, `case-access-${caseId}`) };
      });
      const view = viewFor(state, orgId);
      const full = view === 'national_contact_point';
      const own = new Set(Object.values(state.referrals).filter((r) => r.providerOrgId === orgId).map((r) => r.referralId));
      const allowed = (e: RecordedEvent): boolean => {
        if (full) return true;
        if (!DETAILS[view]!.has(e.type)) return false;
        if (view === 'service_provider') return own.has(String((e.data as { referralId?: string }).referralId));
        if (view === 'notifier' && e.type.startsWith('Information')) {
          const id = (e.data as { informationRequestId: string }).informationRequestId;
          return state.informationRequests[id]?.requestedFrom === orgId;
        }
        return true;
      };
      const merged = [...events, ...(full ? access : [])].sort((a, b) => (BigInt(a.globalPosition) < BigInt(b.globalPosition) ? -1 : 1));
      return {
        caseId,
        entries: merged.map((e) => ({
          position: e.globalPosition,
          type: e.type,
          recordedAt: e.recordedAt,
          organisationId: e.metadata.organisation,
          ...(full ? { actor: e.metadata.actor } : {}),
          ...(allowed(e) ? { data: e.data as Record<string, unknown> } : {}),
        })),
      };
    },
  );
}
