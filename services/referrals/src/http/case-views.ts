import { CASE_FIELDS, caseViewFor, fieldMask, projectFields } from '@trm/contracts';
import { type CaseState, coordinatorsOf } from '../domain/case.state.js';
import { completenessOf } from '../domain/completeness.js';
import type { CaseRecord } from '../repositories/case.repository.js';
import { purposesIn, worksWithIn } from './case-access.js';
import type { CaseFile, CaseSummary, CaseView } from './case-views.schemas.js';
import type { z } from 'zod';

export type ViewName = CaseView['view'];

/** Which view a caller gets: the one of its richest purpose (CASE_VIEW_OF in the access matrix). */
export function viewFor(state: CaseState, orgId: string): ViewName {
  const purposes = purposesIn({ participants: state.participants, notifyingOrganisationType: null }, orgId);
  // Coordination is what the case's own rule says (its contact points and regional centre).
  purposes.delete('coordination');
  if (coordinatorsOf(state).includes(orgId)) purposes.add('coordination');
  return caseViewFor(purposes);
}

export interface ViewPolicy {
  reflectionWarningDays: number;
}

const DAY_MS = 86_400_000;

/**
 * The case as `orgId` may see it: the whole file built once, then cut by the access matrix
 * (CASE_FIELDS: the fields of its view, participants and organisation ids only where it works
 * with them, rows of its own only where the cell says `own`).
 */
export function toCaseView(c: CaseRecord, state: CaseState, orgId: string, now: Date, policy: ViewPolicy): CaseView {
  const view = viewFor(state, orgId);
  const status: 'notified' | 'acknowledged' | 'closed' = state.closed ? 'closed' : (c.status === 'closed' ? 'acknowledged' : (c.status as 'notified' | 'acknowledged'));
  const attributes = { ...(c.attributes as Record<string, unknown>) };
  delete attributes.nationalContactPointIds;
  const a = c.acknowledgement as Record<string, unknown> | null;
  const nowIso = now.toISOString();
  const r = state.reflection;
  const completeness = completenessOf(state.presentItems);
  const file: Omit<CaseFile, 'acknowledgement'> & { acknowledgement?: CaseFile['acknowledgement'] } = {
    caseId: c.caseId,
    version: c.version,
    status,
    minor: state.minor,
    minorBasis: state.minorBasis,
    ...(state.childProtectionRequest ? { childProtection: state.childProtectionRequest } : {}),
    purposes: c.callerPurposes,
    situation: c.situation as never,
    notifyingOrganisationId: c.notifyingOrganisationId,
    notifiedAt: c.notifiedAt,
    acknowledgementDueAt: c.acknowledgementDueAt,
    acknowledgementOverdue: c.acknowledgedAt === null && new Date(c.acknowledgementDueAt) < now,
    ...(a
      ? {
          acknowledgement: {
            acknowledgedBy: String(a.acknowledgedBy),
            acknowledgedAt: String(a.acknowledgedAt),
            keyContactId: String(a.keyContactId),
            alternateContactId: String(a.alternateContactId),
            regionalCentreId: String(a.regionalCentreId),
            late: Boolean(a.late),
          },
        }
      : {}),
    attributes: attributes as never,
    participants: c.participants,
    completeness: { presentItems: completeness.present, missingItems: completeness.missing, score: completeness.score },
    informationRequests: Object.values(state.informationRequests).map((q) => ({ ...q, overdue: q.providedAt === null && q.dueAt < nowIso })),
    ...(state.victimStatus ? { victimStatus: state.victimStatus } : {}),
    ...(r
      ? {
          reflectionPeriod: {
            ...r,
            endingSoon: r.endedOn === null && Date.parse(`${r.endsOn}T00:00:00.000Z`) + DAY_MS - now.getTime() <= policy.reflectionWarningDays * DAY_MS,
          },
        }
      : {}),
    consents: Object.values(state.consents),
    referrals: Object.values(state.referrals),
    monitoringContacts: state.monitoringContacts,
    riskFlags: state.riskFlags,
    ...(state.closure ? { closure: state.closure as { reason: never; closedAt: string } } : {}),
    ...(state.erased ? { personalDataErasedAt: state.erased.erasedAt } : {}),
    deadlines: Object.entries(state.deadlines).map(([deadlineId, d]) => ({ deadlineId, kind: d.kind, dueAt: d.dueAt, met: d.met, missed: d.missed })),
    contactDataAvailable: providerMayReadContactData(state, orgId),
  };
  const cut = projectFields(file, fieldMask(CASE_FIELDS, [view]), {
    worksWith: worksWithIn({ participants: state.participants, referrals: Object.values(state.referrals), notifyingOrganisationType: (c.attributes as { notifyingOrganisationType?: string } | null)?.notifyingOrganisationType ?? null }, orgId),
    own: {
      informationRequests: (q) => (q as { requestedFrom: string }).requestedFrom === orgId,
      referrals: (x) => (x as { providerOrgId: string | null }).providerOrgId === orgId,
    },
  }) as Record<string, unknown>;
  return { view, ...cut } as CaseView;
}

/** A provider reads the contact data of its own open referral only while the person's consent to share with it stands. */
export function providerMayReadContactData(state: CaseState, orgId: string): boolean {
  const consent = Object.values(state.consents).some((x) => x.purpose === 'sharing' && x.sharingWith === orgId);
  const open = Object.values(state.referrals).some((x) => x.providerOrgId === orgId && (x.status === 'made' || x.status === 'accepted'));
  return consent && open && !state.closed;
}

export function toCaseSummary(c: CaseRecord, now: Date): z.infer<typeof CaseSummary> {
  return {
    caseId: c.caseId,
    version: c.version,
    status: c.status as 'notified' | 'acknowledged' | 'closed',
    minor: c.minor,
    notifiedAt: c.notifiedAt,
    acknowledgementDueAt: c.acknowledgementDueAt,
    acknowledgementOverdue: c.acknowledgedAt === null && new Date(c.acknowledgementDueAt) < now,
    purposes: c.callerPurposes,
  };
}
