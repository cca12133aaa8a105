import { sql } from 'kysely';
import type { ReferralsEvent } from '@trm/contracts';
import type { DbOrTx, RecordedEvent } from '@trm/event-store';
import type { CaseRecord } from '../repositories/case.repository.js';

/**
 * Keeps `cases`, `case_participants` and `case_deadlines` in step with the case streams. Runs
 * inside the command's transaction (inline projection), so the read model never lags its own
 * service's writes. Views of one case fold its stream; these tables serve access checks, lists
 * and deadlines across cases.
 */
export async function projectCaseEvents(tx: DbOrTx, schema: string, events: RecordedEvent[], opts: { batched?: boolean } = {}): Promise<void> {
  if (opts.batched) return projectCaseEventsBatched(tx, schema, events);
  const db = tx.withSchema(schema);
  for (const recorded of events) {
    const event = { type: recorded.type, data: recorded.data } as ReferralsEvent;
    const at = recorded.recordedAt;
    const caseId = event.data.caseId;
    const deadline = (id: string) => db.updateTable('case_deadlines').where('case_id', '=', caseId).where('deadline_id', '=', id);
    switch (event.type) {
      case 'CaseNotified': {
        const d = event.data;
        const { situation, notifyingOrganisationId, notifiedAt, acknowledgementDueAt, minor, caseId: _, ...rest } = d;
        const participants = [
          { organisation_id: notifyingOrganisationId, purpose: 'notifier' },
          ...d.nationalContactPointIds.map((id) => ({ organisation_id: id, purpose: 'national_contact_point' })),
        ];
        // One statement (one round trip): the case, its participants and its first deadline.
        await db
          .with('new_case', (q) =>
            q
              .insertInto('cases')
              .values({
                case_id: caseId,
                version: recorded.streamVersion,
                status: 'notified',
                situation,
                notifying_organisation_id: notifyingOrganisationId,
                notified_at: notifiedAt,
                acknowledgement_due_at: acknowledgementDueAt,
                minor,
                attributes: JSON.stringify(rest),
                updated_at: at,
              })
              .returning('case_id'),
          )
          .with('new_participants', (q) =>
            q
              .insertInto('case_participants')
              .values(participants.map((p) => ({ ...p, case_id: caseId, added_at: at })))
              .onConflict((oc) => oc.doNothing())
              .returning('case_id'),
          )
          .insertInto('case_deadlines')
          .values({ case_id: caseId, deadline_id: 'acknowledgement', kind: 'acknowledgement', due_at: acknowledgementDueAt, owner_org_ids: sql`${sql.val(d.nationalContactPointIds)}::text[]` })
          .execute();
        continue;
      }
      case 'NotificationAcknowledged': {
        const d = event.data;
        // One statement: the case (with its new version), the regional centre and the deadline met.
        await db
          .with('acknowledged', (q) =>
            q
              .updateTable('cases')
              .set({
                status: 'acknowledged',
                acknowledged_at: d.acknowledgedAt,
                regional_centre_id: d.regionalCentreId,
                acknowledgement: JSON.stringify(d),
                version: recorded.streamVersion,
                updated_at: at,
              })
              .where('case_id', '=', caseId)
              .returning('case_id'),
          )
          .with('regional_centre', (q) =>
            q
              .insertInto('case_participants')
              .values({ case_id: caseId, organisation_id: d.regionalCentreId, purpose: 'regional_centre', added_at: at })
              .onConflict((oc) => oc.doNothing())
              .returning('case_id'),
          )
          .updateTable('case_deadlines')
          .set({ met: true })
          .where('case_id', '=', caseId)
          .where('deadline_id', '=', 'acknowledgement')
          .execute();
        continue;
      }
      case 'ParticipantAdded':
        await db
          .insertInto('case_participants')
          .values({ case_id: caseId, organisation_id: event.data.organisationId, purpose: event.data.purpose, added_at: at })
          .onConflict((oc) => oc.doNothing())
          .execute();
        if (event.data.purpose === 'child_protection') {
          // Child protection chosen by the contact point owns the open deadline to join.
          const orgId = event.data.organisationId;
          await deadline('child-protection')
            .set({ owner_org_ids: sql`array_append(owner_org_ids, ${orgId})` })
            .where('met', '=', false)
            .where(sql<boolean>`not (${orgId} = any(owner_org_ids))`)
            .execute();
        }
        break;
      case 'ParticipantRemoved': {
        const orgId = event.data.organisationId;
        await db
          .deleteFrom('case_participants')
          .where('case_id', '=', caseId)
          .where('organisation_id', '=', orgId)
          .where('purpose', '=', event.data.purpose)
          .execute();
        // Removal removes: an organisation that no longer takes part owes none of the case's deadlines.
        await db
          .updateTable('case_deadlines')
          .set({ owner_org_ids: sql`array_remove(owner_org_ids, ${orgId})` })
          .where('case_id', '=', caseId)
          .where(sql<boolean>`${orgId} = any(owner_org_ids)`)
          .where((eb) =>
            eb.not(eb.exists(eb.selectFrom('case_participants as p').select(sql.lit(1).as('one')).where('p.case_id', '=', caseId).where('p.organisation_id', '=', orgId))),
          )
          .execute();
        break;
      }
      case 'InformationRequested':
        await db
          .insertInto('case_deadlines')
          .values({
            case_id: caseId,
            deadline_id: `information-request:${event.data.informationRequestId}`,
            kind: 'information_request',
            due_at: event.data.dueAt,
            owner_org_ids: sql`${sql.val([event.data.requestedFrom])}::text[]`,
          })
          .execute();
        break;
      case 'InformationProvided': {
        await deadline(`information-request:${event.data.informationRequestId}`).set({ met: true }).execute();
        const change = caseRowChange(event);
        if (change) await db.updateTable('cases').set(caseRowSet(change)).where('case_id', '=', caseId).execute();
        break;
      }
      case 'AgeAssessed':
      case 'AttributesCorrected': {
        const change = caseRowChange(event)!;
        await db.updateTable('cases').set(caseRowSet(change)).where('case_id', '=', caseId).execute();
        break;
      }
      case 'ChildProtectionRequested': {
        const owners = event.data.childProtectionOrgId
          ? [event.data.childProtectionOrgId]
          : (
              await db
                .selectFrom('case_participants')
                .select('organisation_id')
                .where('case_id', '=', caseId)
                .where('purpose', 'in', ['national_contact_point', 'regional_centre'])
                .execute()
            ).map((c) => c.organisation_id);
        await db
          .insertInto('case_deadlines')
          .values({ case_id: caseId, deadline_id: 'child-protection', kind: 'child_protection', due_at: event.data.dueAt, owner_org_ids: sql`${sql.val(owners)}::text[]` })
          .execute();
        break;
      }
      case 'ChildProtectionAcknowledged':
        await deadline('child-protection').set({ met: true }).execute();
        break;
      case 'ReflectionPeriodGranted': {
        const coordinators = await db
          .selectFrom('case_participants')
          .select('organisation_id')
          .where('case_id', '=', caseId)
          .where('purpose', 'in', ['national_contact_point', 'regional_centre'])
          .execute();
        await db
          .insertInto('case_deadlines')
          .values({
            case_id: caseId,
            deadline_id: `reflection-period:${event.data.periodNumber}`,
            kind: 'reflection_period',
            due_at: new Date(Date.parse(`${event.data.endsOn}T00:00:00.000Z`) + 86_400_000).toISOString(),
            owner_org_ids: sql`${sql.val(coordinators.map((c) => c.organisation_id))}::text[]`,
          })
          .execute();
        break;
      }
      case 'ReflectionPeriodEnded':
        await deadline(`reflection-period:${event.data.periodNumber}`).set({ met: true }).execute();
        break;
      case 'DeadlineMissed':
        await deadline(event.data.deadlineId).set({ missed_at: event.data.detectedAt }).execute();
        break;
      case 'CaseClosed':
        await db.updateTable('cases').set({ status: 'closed' }).where('case_id', '=', caseId).execute();
        break;
      case 'CaseReopened':
        await db
          .updateTable('cases')
          .set({ status: sql`case when acknowledged_at is null then 'notified' else 'acknowledged' end` })
          .where('case_id', '=', caseId)
          .execute();
        break;
      case 'PersonalDataAccessed':
        // Recorded on its own stream (`case-access-<id>`): reading never changes the case version.
        continue;
      case 'ConsentRecorded':
      case 'ConsentWithdrawn':
      case 'VictimStatusDetermined':
      case 'ServiceReferralMade':
      case 'ServiceReferralAssigned':
      case 'ServiceReferralAccepted':
      case 'ServiceReferralDeclined':
      case 'AssistanceDelivered':
      case 'ServiceReferralClosed':
      case 'MonitoringContactRecorded':
      case 'RiskFlagRaised':
      case 'PersonalDataErased':
        break;
      default: {
        const unknown: never = event;
        throw new Error(`Unprojected event ${(unknown as { type: string }).type}`);
      }
    }
    await db.updateTable('cases').set({ version: recorded.streamVersion, updated_at: at }).where('case_id', '=', caseId).execute();
  }
}

type Json = Record<string, unknown>;

/** How an answer, an assessment or a correction changes a case's row: minority, situation, attributes. */
interface CaseRowChange {
  minor?: boolean;
  situation?: string;
  attributes: Json;
}

function caseRowChange(event: ReferralsEvent): CaseRowChange | undefined {
  switch (event.type) {
    case 'InformationProvided': {
      const d = event.data;
      const attributes: Json = {};
      if (d.birthYear !== undefined) attributes.birthYear = d.birthYear;
      if (d.minor !== undefined) Object.assign(attributes, { minorBasis: d.minorBasis ?? null, ageBand: d.ageBand ?? null });
      if (Object.keys(attributes).length === 0) return undefined;
      return { ...(d.minor !== undefined ? { minor: d.minor } : {}), attributes };
    }
    case 'AgeAssessed':
      return { minor: event.data.minor, attributes: { minorBasis: event.data.minor ? 'assessed' : null, ...(event.data.ageBand ? { ageBand: event.data.ageBand } : {}) } };
    case 'AttributesCorrected': {
      const d = event.data;
      const attributes: Json = { minorBasis: d.minorBasis, ageBand: d.ageBand };
      let situation: string | undefined;
      for (const c of d.changes) {
        if (c.attribute === 'situation') situation = String(c.to);
        else if (c.attribute === 'citizenship') Object.assign(attributes, { citizenship: (c.to as string[])[0], citizenships: c.to });
        else attributes[c.attribute] = c.to;
      }
      return { minor: d.minor, ...(situation ? { situation } : {}), attributes };
    }
    default:
      return undefined;
  }
}

function caseRowSet(change: CaseRowChange) {
  return {
    ...(change.minor !== undefined ? { minor: change.minor } : {}),
    ...(change.situation !== undefined ? { situation: change.situation } : {}),
    attributes: sql`attributes || ${JSON.stringify(change.attributes)}::jsonb`,
  };
}

function caseRowSetJson(row: Json | null, change: CaseRowChange): Json {
  return {
    ...(change.minor !== undefined ? { minor: change.minor } : {}),
    ...(change.situation !== undefined ? { situation: change.situation } : {}),
    attributes: { ...((row?.attributes as Json | undefined) ?? {}), ...change.attributes },
  };
}

/** The rows of one case, as `to_jsonb` gives them (so they go back through json_populate_recordset unchanged). */
interface CaseRows {
  existed: boolean;
  case: Json | null;
  participants: Map<string, Json>;
  deadlines: Map<string, Json>;
}

const participantKey = (organisationId: unknown, purpose: unknown) => `${String(organisationId)}\u0000${String(purpose)}`;

/** Event types whose effect on a case depends on rows read in no defined order: projected one at a time. */
const UNBATCHED = new Set(['ReflectionPeriodGranted', 'ChildProtectionRequested']);

/**
 * The same projection for a rebuild: a page of events in a few set-based statements instead of
 * several per event. The rows of the cases the page touches are read in one statement, every
 * event is folded into them in memory in order (as `projectCaseEvents` would change them), and
 * they are written back: cases upserted, their participants and deadlines replaced. Cases are
 * independent of each other, so a case whose events need a read in no defined order
 * (ReflectionPeriodGranted) goes through the per-event path instead, after the others.
 * Errors where the per-event path errors (a case notified twice, a deadline requested twice, an
 * event for a case that was never notified does nothing, as an UPDATE of no row).
 */
async function projectCaseEventsBatched(tx: DbOrTx, schema: string, events: RecordedEvent[]): Promise<void> {
  const byCase = new Map<string, RecordedEvent[]>();
  for (const e of events) {
    if (e.type === 'PersonalDataAccessed') continue;
    const caseId = (e.data as { caseId: string }).caseId;
    let list = byCase.get(caseId);
    if (!list) byCase.set(caseId, (list = []));
    list.push(e);
  }
  const oneByOne: RecordedEvent[] = [];
  const folded: string[] = [];
  for (const [caseId, list] of byCase) {
    if (list.some((e) => UNBATCHED.has(e.type))) oneByOne.push(...list);
    else folded.push(caseId);
  }

  if (folded.length > 0) {
    const t = (name: string) => sql.id(schema, name);
    const { rows } = await sql<{ cases: Json[] | null; participants: Json[] | null; deadlines: Json[] | null }>`select
        (select jsonb_agg(to_jsonb(c)) from ${t('cases')} c where c.case_id = any(${folded}::uuid[])) as cases,
        (select jsonb_agg(to_jsonb(p)) from ${t('case_participants')} p where p.case_id = any(${folded}::uuid[])) as participants,
        (select jsonb_agg(to_jsonb(d)) from ${t('case_deadlines')} d where d.case_id = any(${folded}::uuid[])) as deadlines`.execute(tx);
    const state = new Map<string, CaseRows>();
    for (const id of folded) state.set(id, { existed: false, case: null, participants: new Map(), deadlines: new Map() });
    for (const c of rows[0]?.cases ?? []) Object.assign(state.get(String(c.case_id))!, { existed: true, case: c });
    for (const p of rows[0]?.participants ?? []) state.get(String(p.case_id))!.participants.set(participantKey(p.organisation_id, p.purpose), p);
    for (const d of rows[0]?.deadlines ?? []) state.get(String(d.case_id))!.deadlines.set(String(d.deadline_id), d);

    for (const id of folded) {
      const rowsOfCase = state.get(id)!;
      for (const e of byCase.get(id)!) foldCaseEvent(rowsOfCase, id, e);
    }

    const cases: Json[] = [];
    const participants: Json[] = [];
    const deadlines: Json[] = [];
    for (const r of state.values()) {
      if (r.case) cases.push(r.case);
      participants.push(...r.participants.values());
      deadlines.push(...r.deadlines.values());
    }
    if (cases.length > 0) {
      const columns = Object.keys(cases[0]!).filter((c) => c !== 'case_id');
      await sql`insert into ${t('cases')} select * from json_populate_recordset(null::${t('cases')}, ${JSON.stringify(cases)}::json)
        on conflict (case_id) do update set ${sql.join(columns.map((c) => sql`${sql.id(c)} = excluded.${sql.id(c)}`))}`.execute(tx);
    }
    await sql`delete from ${t('case_participants')} where case_id = any(${folded}::uuid[])`.execute(tx);
    if (participants.length > 0) {
      await sql`insert into ${t('case_participants')} select * from json_populate_recordset(null::${t('case_participants')}, ${JSON.stringify(participants)}::json)`.execute(tx);
    }
    await sql`delete from ${t('case_deadlines')} where case_id = any(${folded}::uuid[])`.execute(tx);
    if (deadlines.length > 0) {
      await sql`insert into ${t('case_deadlines')} select * from json_populate_recordset(null::${t('case_deadlines')}, ${JSON.stringify(deadlines)}::json)`.execute(tx);
    }
  }
  if (oneByOne.length > 0) await projectCaseEvents(tx, schema, oneByOne);
}

/** What `projectCaseEvents` does to a case's rows for one event, on the rows in memory. */
function foldCaseEvent(r: CaseRows, caseId: string, recorded: RecordedEvent): void {
  const event = { type: recorded.type, data: recorded.data } as ReferralsEvent;
  const at = recorded.recordedAt;
  // UPDATE … WHERE case_id: nothing when the case has no row.
  const updateCase = (set: Json) => {
    if (r.case) Object.assign(r.case, set);
  };
  const addParticipant = (organisationId: string, purpose: string) => {
    // INSERT … ON CONFLICT DO NOTHING; the foreign key needs the case.
    if (!r.case) throw new Error(`batched projection: participant of case ${caseId}, which has no row`);
    const key = participantKey(organisationId, purpose);
    if (!r.participants.has(key)) r.participants.set(key, { case_id: caseId, organisation_id: organisationId, purpose, added_at: at });
  };
  const addDeadline = (row: Json) => {
    if (!r.case) throw new Error(`batched projection: deadline of case ${caseId}, which has no row`);
    if (r.deadlines.has(String(row.deadline_id))) throw new Error(`batched projection: deadline ${String(row.deadline_id)} of case ${caseId} exists`);
    r.deadlines.set(String(row.deadline_id), { met: false, missed_at: null, ...row, case_id: caseId });
  };
  const updateDeadline = (id: string, set: Json) => {
    const d = r.deadlines.get(id);
    if (d) Object.assign(d, set);
  };
  switch (event.type) {
    case 'CaseNotified': {
      const d = event.data;
      if (r.case) throw new Error(`batched projection: case ${caseId} notified twice`);
      const { situation, notifyingOrganisationId, notifiedAt, acknowledgementDueAt, minor, caseId: _, ...rest } = d;
      r.case = {
        case_id: caseId,
        version: recorded.streamVersion,
        status: 'notified',
        situation,
        notifying_organisation_id: notifyingOrganisationId,
        notified_at: notifiedAt,
        acknowledgement_due_at: acknowledgementDueAt,
        acknowledged_at: null,
        regional_centre_id: null,
        minor,
        attributes: JSON.parse(JSON.stringify(rest)) as unknown,
        acknowledgement: null,
        updated_at: at,
      };
      addParticipant(notifyingOrganisationId, 'notifier');
      for (const id of d.nationalContactPointIds) addParticipant(id, 'national_contact_point');
      addDeadline({ deadline_id: 'acknowledgement', kind: 'acknowledgement', due_at: acknowledgementDueAt, owner_org_ids: [...d.nationalContactPointIds] });
      return;
    }
    case 'NotificationAcknowledged': {
      const d = event.data;
      updateCase({ status: 'acknowledged', acknowledged_at: d.acknowledgedAt, regional_centre_id: d.regionalCentreId, acknowledgement: JSON.parse(JSON.stringify(d)) as unknown });
      addParticipant(d.regionalCentreId, 'regional_centre');
      updateDeadline('acknowledgement', { met: true });
      break;
    }
    case 'ParticipantAdded': {
      addParticipant(event.data.organisationId, event.data.purpose);
      const cp = r.deadlines.get('child-protection');
      const owners = (cp?.owner_org_ids as string[] | undefined) ?? [];
      if (event.data.purpose === 'child_protection' && cp && cp.met === false && !owners.includes(event.data.organisationId)) {
        cp.owner_org_ids = [...owners, event.data.organisationId];
      }
      break;
    }
    case 'ChildProtectionRequested':
      throw new Error('batched projection: ChildProtectionRequested is projected one event at a time');
    case 'ChildProtectionAcknowledged':
      updateDeadline('child-protection', { met: true });
      break;
    case 'AgeAssessed':
    case 'AttributesCorrected': {
      const change = caseRowChange(event)!;
      updateCase(caseRowSetJson(r.case, change));
      break;
    }
    case 'ParticipantRemoved': {
      const orgId = event.data.organisationId;
      r.participants.delete(participantKey(orgId, event.data.purpose));
      if (![...r.participants.values()].some((p) => p.organisation_id === orgId)) {
        for (const d of r.deadlines.values()) {
          const owners = d.owner_org_ids as string[];
          if (owners.includes(orgId)) d.owner_org_ids = owners.filter((o) => o !== orgId);
        }
      }
      break;
    }
    case 'InformationRequested':
      addDeadline({
        deadline_id: `information-request:${event.data.informationRequestId}`,
        kind: 'information_request',
        due_at: event.data.dueAt,
        owner_org_ids: [event.data.requestedFrom],
      });
      break;
    case 'InformationProvided': {
      updateDeadline(`information-request:${event.data.informationRequestId}`, { met: true });
      const change = caseRowChange(event);
      if (change) updateCase(caseRowSetJson(r.case, change));
      break;
    }
    case 'ReflectionPeriodGranted':
      throw new Error('batched projection: ReflectionPeriodGranted is projected one event at a time');
    case 'ReflectionPeriodEnded':
      updateDeadline(`reflection-period:${event.data.periodNumber}`, { met: true });
      break;
    case 'DeadlineMissed':
      updateDeadline(event.data.deadlineId, { missed_at: event.data.detectedAt });
      break;
    case 'CaseClosed':
      updateCase({ status: 'closed' });
      break;
    case 'CaseReopened':
      updateCase({ status: r.case?.acknowledged_at === null || r.case?.acknowledged_at === undefined ? 'notified' : 'acknowledged' });
      break;
    case 'PersonalDataAccessed':
      return;
    case 'ConsentRecorded':
    case 'ConsentWithdrawn':
    case 'VictimStatusDetermined':
    case 'ServiceReferralMade':
    case 'ServiceReferralAssigned':
    case 'ServiceReferralAccepted':
    case 'ServiceReferralDeclined':
    case 'AssistanceDelivered':
    case 'ServiceReferralClosed':
    case 'MonitoringContactRecorded':
    case 'RiskFlagRaised':
    case 'PersonalDataErased':
      break;
    default: {
      const unknown: never = event;
      throw new Error(`Unprojected event ${(unknown as { type: string }).type}`);
    }
  }
  updateCase({ version: recorded.streamVersion, updated_at: at });
}

/**
 * The read-model record of one case after `events`, exactly as `projectCaseEvents` leaves its
 * rows and `findCaseForOrganisation` would read them back, built without that read (one round
 * trip fewer per command). `before` is the record read in the same transaction at the version the
 * events were decided on (undefined for a new case). Undefined when an event is one this does not
 * mirror, or when `orgId` does not take part: the caller then reads the record back.
 */
export function projectedCaseRecord(before: CaseRecord | undefined, events: RecordedEvent[], orgId: string): CaseRecord | undefined {
  const iso = (v: string) => new Date(v).toISOString();
  const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
  let record = before && { ...before, participants: [...before.participants] };
  const addParticipant = (r: CaseRecord, organisationId: string, purpose: string) => {
    if (!r.participants.some((p) => p.organisationId === organisationId && p.purpose === purpose)) r.participants.push({ organisationId, purpose });
  };
  for (const recorded of events) {
    const event = { type: recorded.type, data: recorded.data } as ReferralsEvent;
    switch (event.type) {
      case 'CaseNotified': {
        if (record) return undefined;
        const { situation, notifyingOrganisationId, notifiedAt, acknowledgementDueAt, minor, caseId, ...rest } = event.data;
        record = {
          caseId,
          version: recorded.streamVersion,
          status: 'notified',
          situation,
          notifyingOrganisationId,
          notifiedAt: iso(notifiedAt),
          acknowledgementDueAt: iso(acknowledgementDueAt),
          acknowledgedAt: null,
          regionalCentreId: null,
          minor,
          attributes: plain(rest) as Record<string, unknown>,
          acknowledgement: null,
          participants: [],
          callerPurposes: [],
        };
        addParticipant(record, notifyingOrganisationId, 'notifier');
        for (const id of event.data.nationalContactPointIds) addParticipant(record, id, 'national_contact_point');
        break;
      }
      case 'NotificationAcknowledged': {
        if (!record || record.caseId !== event.data.caseId) return undefined;
        const d = event.data;
        record.status = 'acknowledged';
        record.acknowledgedAt = iso(d.acknowledgedAt);
        record.regionalCentreId = d.regionalCentreId;
        record.acknowledgement = plain(d) as Record<string, unknown>;
        record.version = recorded.streamVersion;
        addParticipant(record, d.regionalCentreId, 'regional_centre');
        break;
      }
      default:
        return undefined;
    }
  }
  if (!record) return undefined;
  record.callerPurposes = record.participants.filter((p) => p.organisationId === orgId).map((p) => p.purpose);
  return record.callerPurposes.length > 0 ? record : undefined;
}
