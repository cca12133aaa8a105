import { sql } from 'kysely';
import type { DbOrTx } from '@trm/event-store';
import type { FigureRow } from '../domain/disclosure.js';
import { type FactChange, type FactRow, type FactTable, type FactValue, PRIMARY_KEYS, factsOf } from '../domain/fact-events.js';
import type { FigureDef } from '../domain/figures.js';

/** What the fold needs of an event, live (envelope) or replayed (events table row). */
export interface FoldEvent {
  service: string;
  type: string;
  eventId: string;
  recordedAt: string;
  globalPosition: string;
  data: unknown;
}

async function applyChange(db: DbOrTx, schema: string, change: FactChange): Promise<void> {
  const s = db.withSchema(schema);
  switch (change.op) {
    case 'insert':
      await s
        .insertInto(change.table)
        .values(change.row)
        .onConflict((oc) => oc.column(PRIMARY_KEYS[change.table]).doNothing())
        .execute();
      return;
    case 'upsert':
      await s
        .insertInto(change.table)
        .values(change.row)
        .onConflict((oc) => oc.column(PRIMARY_KEYS[change.table]).doUpdateSet(change.set))
        .execute();
      return;
    case 'update': {
      let q = s.updateTable(change.table).set(change.set);
      for (const [col, v] of Object.entries(change.where)) q = q.where(col, '=', v);
      await q.execute();
      return;
    }
    default: {
      const unreachable: never = change;
      throw new Error(`unknown fact change ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * Folds one event into the fact tables of `schema` and advances that service's watermark. Runs in
 * the caller's transaction (the consumer's, with its inbox insert; or the rebuild's).
 */
export async function applyEvent(db: DbOrTx, schema: string, event: FoldEvent): Promise<void> {
  const outcome = factsOf(event);
  if (outcome.kind === 'changes') for (const c of outcome.changes) await applyChange(db, schema, c);
  if (outcome.kind === 'unparsed') {
    await db
      .withSchema(schema)
      .insertInto('unparsed_events')
      .values({ event_id: event.eventId, service: event.service, event_type: event.type, issues: outcome.issues })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .execute();
  }
  await sql`
    insert into ${sql.id(schema, 'watermarks')} as w (service, events_applied, last_global_position, last_recorded_at)
    values (${event.service}, 1, ${event.globalPosition}::bigint, ${event.recordedAt}::timestamptz)
    on conflict (service) do update set
      events_applied = w.events_applied + 1,
      last_global_position = greatest(w.last_global_position, excluded.last_global_position),
      last_recorded_at = greatest(w.last_recorded_at, excluded.last_recorded_at)`.execute(db);
}

export interface Watermark {
  service: string;
  eventsApplied: number;
  lastGlobalPosition: string;
  lastRecordedAt: string;
}

export async function readWatermarks(db: DbOrTx, schema: string): Promise<Watermark[]> {
  const { rows } = await sql<{ service: string; events_applied: string; last_global_position: string; last_recorded_at: string }>`
    select service, events_applied::text as events_applied, last_global_position::text as last_global_position,
      to_char(last_recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as last_recorded_at
    from ${sql.id(schema, 'watermarks')} order by service`.execute(db);
  return rows.map((r) => ({
    service: r.service,
    eventsApplied: Number(r.events_applied),
    lastGlobalPosition: r.last_global_position,
    lastRecordedAt: r.last_recorded_at,
  }));
}

const yn = (col: string) => sql.raw(`case when ${col} then 'yes' else 'no' end`);
const personDims = sql`coalesce(c.sex, 'unknown') as "sex", coalesce(c.age_band, 'unknown') as "ageBand",
  case when c.minor is null then 'unknown' when c.minor then 'yes' else 'no' end as "minor",
  coalesce(c.citizenship, 'unknown') as "citizenship"`;
const monthOf = (col: string) => sql.raw(`to_char(${col} at time zone 'UTC', 'MM')`);

/**
 * The rows of one figure for one year, each with every dimension of the figure as a string.
 * `now` only decides what is overdue; the facts themselves never depend on it.
 */
export async function loadFigureRows(db: DbOrTx, schema: string, figure: FigureDef, year: number, now: Date): Promise<FigureRow[]> {
  const t = (name: string) => sql.id(schema, name);
  const nowIso = now.toISOString();
  let query;
  switch (figure.source) {
    case 'cases': {
      const population =
        figure.population === 'identified'
          ? sql`and c.victim_status = 'actual'`
          : figure.population === 'acknowledgement_overdue_or_late'
            ? sql`and (c.acknowledged_late or (c.acknowledged_at is null and c.acknowledgement_due_at < ${nowIso}::timestamptz))`
            : sql``;
      query = sql`select c.case_id as "caseId", lpad(c.month::text, 2, '0') as "month", ${personDims},
          c.country_of_exploitation as "countryOfExploitation", c.primary_form as "form", ${yn('c.cross_border')} as "crossBorder",
          c.situation as "situation", c.identifying_org_type as "identifyingOrgType", c.regional_centre as "regionalCentre",
          coalesce(c.victim_status, 'undetermined') as "victimStatus",
          case when c.acknowledged_at is null then
                 case when c.acknowledgement_due_at < ${nowIso}::timestamptz then 'overdue' else 'pending' end
               when c.acknowledged_late then 'late' else 'on_time' end as "acknowledgement"
        from ${t('case_facts')} c where c.year = ${year} ${population}`;
      break;
    }
    case 'referrals':
      query = sql`select r.case_id as "caseId", ${monthOf('r.made_at')} as "month", r.service as "service",
          r.outcome as "referralOutcome", ${yn('r.delivered')} as "delivered", ${personDims},
          coalesce(c.regional_centre, 'unassigned') as "regionalCentre"
        from ${t('referral_facts')} r left join ${t('case_facts')} c on c.case_id = r.case_id where r.year = ${year}`;
      break;
    case 'assistance':
      query = sql`select a.case_id as "caseId", coalesce(a.service, r.service, 'unknown') as "service",
          coalesce(c.regional_centre, 'unassigned') as "regionalCentre", ${personDims},
          a.amount::text as "amount", a.currency as "currency"
        from ${t('assistance_facts')} a left join ${t('referral_facts')} r on r.referral_id = a.referral_id
          left join ${t('case_facts')} c on c.case_id = a.case_id where a.year = ${year}`;
      break;
    case 'returns':
      query = sql`select x.case_id as "caseId", ${monthOf('x.requested_at')} as "month", ${yn('x.late_notification')} as "lateNotification",
          case when x.cancelled then 'cancelled' when x.arrived_at is not null then 'arrived' when x.departed then 'departed' else 'requested' end
            as "returnStatus", ${personDims}, coalesce(c.regional_centre, 'unassigned') as "regionalCentre",
          x.notice_days as "noticeDays", x.days_to_arrival as "daysFromNotificationToArrival"
        from ${t('return_facts')} x left join ${t('case_facts')} c on c.case_id = x.case_id where x.year = ${year}`;
      break;
    case 'proceedings':
      query = sql`select p.case_id as "caseId", ${monthOf('p.linked_at')} as "month", p.offence as "offence",
          coalesce(p.outcome, 'pending') as "outcome", ${personDims}
        from ${t('proceeding_facts')} p left join ${t('case_facts')} c on c.case_id = p.case_id where p.year = ${year}`;
      break;
    case 'compensation':
      query = sql`select m.case_id as "caseId", m.decision as "compensationDecision", ${yn('m.paid')} as "compensationPaid", ${personDims},
          m.amount::text as "amount", m.currency as "currency"
        from ${t('compensation_facts')} m left join ${t('case_facts')} c on c.case_id = m.case_id where m.year = ${year}`;
      break;
    case 'duties':
      query = sql`select d.case_id as "caseId", ${monthOf('d.due_at')} as "month", d.kind as "dutyKind",
          case when d.fulfilled and d.fulfilled_late then 'late' when d.fulfilled then 'on_time'
               when d.due_at < ${nowIso}::timestamptz then 'overdue' else 'open' end as "dutyStatus"
        from ${t('duty_facts')} d where d.year = ${year}`;
      break;
    default: {
      const unreachable: never = figure.source;
      throw new Error(`unknown source ${String(unreachable)}`);
    }
  }
  const { rows } = await query.execute(db);
  return (rows as Array<Record<string, unknown>>).map((r) => {
    const dims: Record<string, string> = {};
    for (const d of figure.dims) dims[d] = String(r[d]);
    const measures: Record<string, number | null> = {};
    for (const m of figure.measures ?? []) measures[m] = r[m] === null || r[m] === undefined ? null : Number(r[m]);
    return {
      caseId: String(r.caseId),
      dims,
      amount: figure.amounts ? { value: String(r.amount), currency: String(r.currency) } : undefined,
      measures,
    };
  });
}
/** What one page of events does to one row, whether or not the row existed before the page. */
interface RowFold {
  /** The row as the page leaves it if it did not exist before (null: still absent). */
  created: FactRow | null;
  /** The columns the page overwrites if it did exist before, in order (later wins). */
  patch: FactRow | null;
}

/** Copies `from` into `into` without its undefined values (Kysely leaves those columns out too). */
function assignDefined(into: FactRow, from: FactRow): FactRow {
  for (const k in from) {
    const v = from[k];
    if (v !== undefined) into[k] = v;
  }
  return into;
}

/** Folds one change into the page's state of its row, exactly as `applyChange` would act on it. */
function foldChange(rows: Map<string, RowFold>, change: FactChange): void {
  const pk = PRIMARY_KEYS[change.table];
  let key: FactValue | undefined;
  if (change.op === 'update') {
    key = change.where[pk];
    if (key === undefined || Object.keys(change.where).length !== 1) throw new Error(`batched fold: update of ${change.table} not by its primary key`);
  } else key = change.row[pk];
  const k = String(key);
  let f = rows.get(k);
  if (!f) rows.set(k, (f = { created: null, patch: null }));
  switch (change.op) {
    case 'insert':
      // Existed: nothing. Absent: the row, unless the page created it already.
      f.created ??= assignDefined({}, change.row);
      return;
    case 'upsert':
      f.patch = assignDefined(f.patch ?? {}, change.set);
      f.created = f.created ? assignDefined(f.created, change.set) : assignDefined({}, change.row);
      return;
    case 'update':
      f.patch = assignDefined(f.patch ?? {}, change.set);
      if (f.created) assignDefined(f.created, change.set);
      return;
  }
}

/** Groups rows by their column list, so each group is one statement with a fixed column list. */
function byColumns(rows: FactRow[]): Array<{ columns: string[]; rows: FactRow[] }> {
  const groups = new Map<string, { columns: string[]; rows: FactRow[] }>();
  for (const row of rows) {
    const columns = Object.keys(row);
    const sig = columns.join(',');
    let g = groups.get(sig);
    if (!g) groups.set(sig, (g = { columns, rows: [] }));
    g.rows.push(row);
  }
  return [...groups.values()];
}

/** The writes of a page of events, folded in memory (`planFacts`), for `writeFacts`. */
export interface FactsPlan {
  tables: Array<{ table: FactTable; patches: FactRow[]; created: FactRow[] }>;
  unparsed: Array<{ event_id: string; service: string; event_type: string; issues: string }>;
  watermarks: Array<{ service: string; positions: string[]; recorded: string[] }>;
}

/**
 * Folds a page of events in memory: for every row the page changes, what it does if the row
 * existed before the page and what it does if not (every change is keyed by its table's primary
 * key). Pure: no I/O, so a rebuild folds the next page while the previous one is written.
 */
export function planFacts(events: readonly FoldEvent[]): FactsPlan {
  const tables = new Map<FactTable, Map<string, RowFold>>();
  const unparsed: FactsPlan['unparsed'] = [];
  const marks = new Map<string, { service: string; positions: string[]; recorded: string[] }>();
  for (const event of events) {
    const outcome = factsOf(event);
    if (outcome.kind === 'changes') {
      for (const c of outcome.changes) {
        let rows = tables.get(c.table);
        if (!rows) tables.set(c.table, (rows = new Map()));
        foldChange(rows, c);
      }
    } else if (outcome.kind === 'unparsed') {
      unparsed.push({ event_id: event.eventId, service: event.service, event_type: event.type, issues: outcome.issues });
    }
    let m = marks.get(event.service);
    if (!m) marks.set(event.service, (m = { service: event.service, positions: [], recorded: [] }));
    m.positions.push(event.globalPosition);
    m.recorded.push(event.recordedAt);
  }
  const out: FactsPlan = { tables: [], unparsed, watermarks: [...marks.values()] };
  for (const [table, rows] of tables) {
    const pk = PRIMARY_KEYS[table];
    const patches: FactRow[] = [];
    const created: FactRow[] = [];
    for (const [key, f] of rows) {
      if (f.patch) {
        f.patch[pk] = key;
        if (Object.keys(f.patch).length > 1) patches.push(f.patch);
      }
      if (f.created) created.push(f.created);
    }
    out.tables.push({ table, patches, created });
  }
  return out;
}

/**
 * Writes a folded page into the fact tables of `schema` with a few set-based statements: per
 * table, one UPDATE of the rows that existed before the page, then one INSERT … ON CONFLICT DO
 * NOTHING of the rows the page creates (the UPDATE runs first, so it only reaches rows that
 * existed; the INSERT only adds rows that did not); then the unparsed events and one watermark
 * upsert per service. In the caller's transaction.
 */
export async function writeFacts(db: DbOrTx, schema: string, plan: FactsPlan): Promise<void> {
  for (const { table, patches, created } of plan.tables) {
    const pk = PRIMARY_KEYS[table];
    const t = sql.id(schema, table);
    for (const { columns, rows } of byColumns(patches)) {
      const set = columns.filter((c) => c !== pk).map((c) => sql`${sql.id(c)} = v.${sql.id(c)}`);
      await sql`update ${t} as t set ${sql.join(set)}
        from json_populate_recordset(null::${t}, ${JSON.stringify(rows)}::json) as v
        where t.${sql.id(pk)} = v.${sql.id(pk)}`.execute(db);
    }
    for (const { columns, rows } of byColumns(created)) {
      const cols = sql.join(columns.map((c) => sql.id(c)));
      await sql`insert into ${t} (${cols})
        select ${cols} from json_populate_recordset(null::${t}, ${JSON.stringify(rows)}::json)
        on conflict (${sql.id(pk)}) do nothing`.execute(db);
    }
  }
  const { unparsed } = plan;
  if (unparsed.length > 0) {
    await sql`insert into ${sql.id(schema, 'unparsed_events')} (event_id, service, event_type, issues)
      select * from unnest(${unparsed.map((u) => u.event_id)}::text[], ${unparsed.map((u) => u.service)}::text[],
        ${unparsed.map((u) => u.event_type)}::text[], ${unparsed.map((u) => u.issues)}::text[])
      on conflict (event_id) do nothing`.execute(db);
  }
  for (const m of plan.watermarks) {
    await sql`
      insert into ${sql.id(schema, 'watermarks')} as w (service, events_applied, last_global_position, last_recorded_at)
      select ${m.service}, count(*), max(p), max(r) from unnest(${m.positions}::bigint[], ${m.recorded}::timestamptz[]) as x(p, r)
      on conflict (service) do update set
        events_applied = w.events_applied + excluded.events_applied,
        last_global_position = greatest(w.last_global_position, excluded.last_global_position),
        last_recorded_at = greatest(w.last_recorded_at, excluded.last_recorded_at)`.execute(db);
  }
}

/**
 * Folds a page of events into the fact tables of `schema` with a few set-based statements;
 * equivalent to `applyEvent` on each event in order, in the caller's transaction.
 */
export async function applyEvents(db: DbOrTx, schema: string, events: readonly FoldEvent[]): Promise<void> {
  if (events.length > 0) await writeFacts(db, schema, planFacts(events));
}
