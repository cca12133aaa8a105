import { type AccessPurpose, accessPurposesOf, caseTimelineCell, worksWith } from '@trm/contracts';
import type { DbOrTx, RecordedEvent } from '@trm/event-store';
import { sql } from 'kysely';
import { informationDeadlineId } from '../domain/case.state.js';

/**
 * The access matrix applied to a case of referrals (packages/contracts/src/access-matrix.ts): the
 * purposes of an organisation, and the organisations it works with (the only ones its participant
 * lists and timeline name).
 */

/** Whether a `notifier` row is a law-enforcement notifier (law enforcement in returns and proceedings). */
export interface CaseAccessFacts {
  participants: ReadonlyArray<{ organisationId: string; purpose: string }>;
  referrals: ReadonlyArray<{ madeBy: string | null; providerOrgId: string | null }>;
  notifyingOrganisationType: string | null;
}

/** One organisation's purposes in the case; a law-enforcement notifier counts as law enforcement where `forReturns`. */
export function purposesIn(facts: Pick<CaseAccessFacts, 'participants' | 'notifyingOrganisationType'>, orgId: string, opts: { lawEnforcementNotifier?: boolean } = {}): Set<AccessPurpose> {
  return accessPurposesOf(
    facts.participants.filter((p) => p.organisationId === orgId).map((p) => p.purpose),
    { lawEnforcement: (opts.lawEnforcementNotifier ?? false) && facts.notifyingOrganisationType === 'law_enforcement' },
  );
}

/** The organisations `viewer` works with in the case (WORKS_WITH_RULE). */
export function worksWithIn(facts: CaseAccessFacts, viewer: string): Set<string> {
  const orgs = [...new Set(facts.participants.map((p) => p.organisationId))];
  return worksWith({
    viewer,
    // A law-enforcement notifier shares proceedings duties, never the steps of a return.
    participants: orgs.map((organisationId) => ({ organisationId, purposes: purposesIn(facts, organisationId, { lawEnforcementNotifier: true }) })),
    referrals: facts.referrals,
  });
}

export interface TimelineRelations {
  /** Service referrals of the case: who made each, who provides it. */
  referrals: Array<{ referralId: string; madeBy: string | null; providerOrgId: string | null }>;
  /** Requests for information addressed to the viewer. */
  requestsToViewer: Set<string>;
}

/**
 * What the timeline needs to know of a case besides its participants, read from the case's events
 * in the database (only referral and request events, only the fields needed), so that a page of
 * the timeline never folds the whole stream.
 */
export async function timelineRelations(db: DbOrTx, schema: string, caseId: string, viewer: string): Promise<TimelineRelations> {
  const { rows } = await sql<{ type: string; referral_id: string | null; made_by: string | null; provider: string | null; request_id: string | null; requested_from: string | null }>`
    select event_type as type, data->>'referralId' as referral_id, data->>'madeBy' as made_by, data->>'providerOrgId' as provider,
           data->>'informationRequestId' as request_id, data->>'requestedFrom' as requested_from
    from ${sql.table(`${schema}.events`)}
    where stream_id = ${`case-${caseId}`}
      and event_type in ('ServiceReferralMade', 'ServiceReferralAssigned', 'InformationRequested')
    order by stream_version`.execute(db);
  const referrals = new Map<string, { referralId: string; madeBy: string | null; providerOrgId: string | null }>();
  const requestsToViewer = new Set<string>();
  for (const r of rows) {
    if (r.type === 'InformationRequested') {
      if (r.request_id && r.requested_from === viewer) requestsToViewer.add(r.request_id);
      continue;
    }
    if (!r.referral_id) continue;
    const known = referrals.get(r.referral_id);
    if (r.type === 'ServiceReferralMade') referrals.set(r.referral_id, { referralId: r.referral_id, madeBy: r.made_by, providerOrgId: r.provider });
    else if (known) known.providerOrgId = r.provider;
  }
  return { referrals: [...referrals.values()], requestsToViewer };
}

/** One viewer of a case's timeline: its purposes and what makes an entry related to it. */
export interface TimelineViewer {
  orgId: string;
  purposes: Set<AccessPurpose>;
  /** The coordinating contact point: every entry in full, with the acting user. */
  full: boolean;
  relations: TimelineRelations | undefined;
  together: Set<string> | undefined;
  /** The service referrals the viewer made or provides. */
  mine: Set<string>;
}

/** The events a timeline entry is made from (a recorded event, or its envelope on the bus). */
export type TimelineEvent = Pick<RecordedEvent, 'globalPosition' | 'type' | 'recordedAt' | 'data' | 'metadata'>;

/** The viewer of `record`'s timeline (a case row the viewer takes part in). */
export async function timelineViewerOf(
  db: DbOrTx,
  schema: string,
  record: { caseId: string; participants: CaseAccessFacts['participants']; attributes: unknown },
  orgId: string,
): Promise<TimelineViewer> {
  const notifyingOrganisationType = (record.attributes as { notifyingOrganisationType?: string } | null)?.notifyingOrganisationType ?? null;
  const purposes = purposesIn({ participants: record.participants, notifyingOrganisationType }, orgId);
  // A further contact point (joined on the person's consent, purpose national_contact_point) does
  // not coordinate: only the contact points the case was notified to, and the regional centre, do.
  const coordinating = (record.attributes as { nationalContactPointIds?: string[] } | null)?.nationalContactPointIds ?? [];
  if (!coordinating.includes(orgId) && !record.participants.some((p) => p.organisationId === orgId && p.purpose === 'regional_centre')) purposes.delete('coordination');
  const full = purposes.has('coordination');
  const relations = full ? undefined : await timelineRelations(db, schema, record.caseId, orgId);
  const together = relations ? worksWithIn({ participants: record.participants, referrals: relations.referrals, notifyingOrganisationType }, orgId) : undefined;
  const mine = new Set(relations?.referrals.filter((r) => r.madeBy === orgId || r.providerOrgId === orgId).map((r) => r.referralId) ?? []);
  return { orgId, purposes, full, relations, together, mine };
}

/** Whether an entry concerns the viewer (the `related` cells of CASE_TIMELINE). */
export function timelineRelated(viewer: TimelineViewer, e: TimelineEvent): boolean {
  const d = e.data as Record<string, unknown>;
  switch (e.type) {
    case 'InformationRequested':
    case 'InformationProvided':
      return viewer.relations!.requestsToViewer.has(String(d.informationRequestId));
    case 'ConsentRecorded':
    case 'ConsentWithdrawn':
      return d.sharingWith === viewer.orgId;
    case 'ParticipantAdded':
    case 'ParticipantRemoved':
      return viewer.together!.has(String(d.organisationId));
    case 'DeadlineMissed':
      return [...viewer.relations!.requestsToViewer].some((id) => informationDeadlineId(id) === d.deadlineId);
    default:
      return typeof d.referralId === 'string' && viewer.mine.has(d.referralId);
  }
}

/**
 * The entry of the case timeline `viewer` gets for an event, or undefined when its purposes do not
 * see it (CASE_TIMELINE). The timeline route and the webhook recipients both decide with it.
 */
export function timelineEntryOf(viewer: TimelineViewer, e: TimelineEvent) {
  const base = { position: e.globalPosition, type: e.type, recordedAt: e.recordedAt };
  if (viewer.full) return { ...base, organisationId: e.metadata.organisation, actor: e.metadata.actor, data: e.data as Record<string, unknown> };
  const by = viewer.together!.has(e.metadata.organisation) ? { organisationId: e.metadata.organisation } : {};
  if (e.metadata.organisation === viewer.orgId) return { ...base, ...by, data: e.data as Record<string, unknown> };
  const cell = caseTimelineCell(e.type, viewer.purposes);
  if (!cell) return undefined;
  if (cell === 'all') return { ...base, ...by, data: e.data as Record<string, unknown> };
  if (cell === 'entry') return { ...base, ...by };
  const isRelated = timelineRelated(viewer, e);
  if (cell === 'related') return isRelated ? { ...base, ...by, data: e.data as Record<string, unknown> } : undefined;
  return isRelated ? { ...base, ...by, data: e.data as Record<string, unknown> } : { ...base, ...by };
}
