import type { CaseState } from '../domain/case.state.js';
import { coordinatorsOf } from '../domain/case.state.js';
import { completenessOf } from '../domain/completeness.js';
import type { CaseRecord } from '../repositories/case.repository.js';
import type { CaseSummary, CaseView } from './case-views.schemas.js';
import type { z } from 'zod';

export type ViewName = CaseView['view'];

/** Which view a caller gets: the richest purpose it holds in the case. */
export function viewFor(state: CaseState, orgId: string): ViewName {
  const purposes = new Set(state.participants.filter((p) => p.organisationId === orgId).map((p) => p.purpose));
  if (coordinatorsOf(state).includes(orgId)) return 'national_contact_point';
  if (purposes.has('notifier')) return 'notifier';
  if (purposes.has('child_protection')) return 'child_protection';
  if (purposes.has('service_provision')) return 'service_provider';
  return 'participant';
}

export interface ViewPolicy {
  reflectionWarningDays: number;
}

const DAY_MS = 86_400_000;

export function toCaseView(c: CaseRecord, state: CaseState, orgId: string, now: Date, policy: ViewPolicy): CaseView {
  const view = viewFor(state, orgId);
  const status: 'notified' | 'acknowledged' | 'closed' = state.closed ? 'closed' : (c.status === 'closed' ? 'acknowledged' : (c.status as 'notified' | 'acknowledged'));
  const base = { caseId: c.caseId, version: c.version, status, minor: c.minor };
  const attributes = { ...(c.attributes as Record<string, unknown>) };
  delete attributes.nationalContactPointIds;
  const a = c.acknowledgement as Record<string, unknown> | null;
  const acknowledgement = a
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
    : {};
  const nowIso = now.toISOString();
  const r = state.reflection;
  const reflectionPeriod = r
    ? {
        reflectionPeriod: {
          ...r,
          endingSoon: r.endedOn === null && Date.parse(`${r.endsOn}T00:00:00.000Z`) + DAY_MS - now.getTime() <= policy.reflectionWarningDays * DAY_MS,
        },
      }
    : {};
  const victimStatus = state.victimStatus ? { victimStatus: state.victimStatus } : {};
  const closure = state.closure ? { closure: state.closure as { reason: never; closedAt: string } } : {};
  const completeness = (() => {
    const x = completenessOf(state.presentItems);
    return { presentItems: x.present, missingItems: x.missing, score: x.score };
  })();
  const requests = Object.values(state.informationRequests).map((q) => ({ ...q, overdue: q.providedAt === null && q.dueAt < nowIso }));
  const referrals = Object.values(state.referrals);
  const header = {
    situation: c.situation as never,
    notifyingOrganisationId: c.notifyingOrganisationId,
    notifiedAt: c.notifiedAt,
    acknowledgementDueAt: c.acknowledgementDueAt,
    acknowledgementOverdue: c.acknowledgedAt === null && new Date(c.acknowledgementDueAt) < now,
    ...acknowledgement,
    attributes: attributes as never,
    participants: c.participants,
  };
  switch (view) {
    case 'national_contact_point':
      return {
        view,
        ...base,
        ...header,
        completeness,
        informationRequests: requests,
        ...victimStatus,
        ...reflectionPeriod,
        consents: Object.values(state.consents),
        referrals,
        monitoringContacts: state.monitoringContacts,
        riskFlags: state.riskFlags,
        ...closure,
        ...(state.erased ? { personalDataErasedAt: state.erased.erasedAt } : {}),
        deadlines: Object.entries(state.deadlines).map(([deadlineId, d]) => ({ deadlineId, kind: d.kind, dueAt: d.dueAt, met: d.met, missed: d.missed })),
      };
    case 'notifier':
      return {
        view,
        ...base,
        ...header,
        completeness,
        informationRequests: requests.filter((q) => q.requestedFrom === orgId),
        ...victimStatus,
        ...reflectionPeriod,
        ...closure,
      };
    case 'child_protection':
      return {
        view,
        ...base,
        situation: header.situation,
        notifiedAt: c.notifiedAt,
        attributes: header.attributes,
        participants: c.participants,
        ...victimStatus,
        ...reflectionPeriod,
        referrals: referrals.map(({ referralId, service, providerOrgId, status: s }) => ({ referralId, service, providerOrgId, status: s })),
        monitoringContacts: state.monitoringContacts,
        riskFlags: state.riskFlags,
        ...closure,
      };
    case 'service_provider':
      return {
        view,
        ...base,
        referrals: referrals.filter((x) => x.providerOrgId === orgId),
        contactDataAvailable: providerMayReadContactData(state, orgId),
      };
    case 'participant':
      return { view, ...base, purposes: c.callerPurposes };
  }
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
