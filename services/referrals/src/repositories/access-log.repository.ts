import { sql } from 'kysely';
import { type LegalBasis, PERSONAL_DATA_ACCESSED_SCHEMA_VERSION, type PersonalDataAccessedData } from '@trm/contracts';
import type { Kysely } from 'kysely';
import type { DbOrTx, EventMetadata, EventStore } from '@trm/event-store';

/** One read of personal data, as the access log records it (names of fields, never values). */
export interface PersonalDataRead {
  caseId: string;
  organisationId: string;
  purpose: string;
  fields: string[];
  /** The basis of each field read (checked by the rules, never declared by the caller). */
  legalBases: Array<{ basis: LegalBasis; fields: string[] }>;
  /** Fields in the file the reader has no basis for: not returned. */
  withheldFields: string[];
}

/** The bases and withheld fields of a read, as one canonical text: part of a window's key (a read on other bases opens its own window). */
const basesKey = (read: Pick<PersonalDataRead, 'legalBases' | 'withheldFields'>): string =>
  JSON.stringify({ legalBases: read.legalBases.map((b) => ({ basis: b.basis, fields: [...b.fields].sort() })), withheldFields: [...read.withheldFields].sort() });

export const accessStreamOf = (caseId: string) => `case-access-${caseId}`;

interface WindowRow {
  window_ends_at: Date | string;
  repeats: number;
  first_repeat_at: Date | string | null;
  last_repeat_at: Date | string | null;
  metadata: EventMetadata | string | null;
}

const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();
const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

async function appendAccess(
  store: EventStore,
  tx: DbOrTx,
  data: PersonalDataAccessedData,
  metadata: EventMetadata,
  now: Date,
): Promise<void> {
  await store.append(tx, accessStreamOf(data.caseId), [{ type: 'PersonalDataAccessed', data, schemaVersion: PERSONAL_DATA_ACCESSED_SCHEMA_VERSION }], {
    expectedVersion: 'any',
    metadata,
    now,
  });
}

/** The repeats a window counted, as one event (count, first and last read). */
function repeatsEvent(read: PersonalDataRead, row: WindowRow): PersonalDataAccessedData {
  return { ...read, count: row.repeats, firstReadAt: iso(row.first_repeat_at!), lastReadAt: iso(row.last_repeat_at!) };
}

/**
 * Records one read inside the caller's transaction, before the data is returned. With a window
 * of 0 every read is its own event. Otherwise the first read by this actor of these fields for
 * this purpose is an event at once and opens a window; reads within it are counted in
 * `personal_data_access_windows` (same transaction, so a read is never returned unrecorded) and
 * become one event once the window ends: here, when the next read finds it over, or in
 * `flushEndedAccessWindows`.
 */
export async function recordPersonalDataRead(
  deps: { store: EventStore; schema: string; windowMs: number },
  tx: DbOrTx,
  read: PersonalDataRead,
  metadata: EventMetadata,
  now: Date,
): Promise<void> {
  const single: PersonalDataAccessedData = { ...read, count: 1, firstReadAt: now.toISOString(), lastReadAt: now.toISOString() };
  if (deps.windowMs <= 0) return appendAccess(deps.store, tx, single, metadata, now);
  const table = sql.table(`${deps.schema}.personal_data_access_windows`);
  const fields = [...read.fields].sort().join(',');
  const bases = basesKey(read);
  const key = sql`case_id = ${read.caseId} and organisation_id = ${read.organisationId} and actor = ${metadata.actor} and purpose = ${read.purpose} and fields = ${fields} and bases = ${bases}`;
  // One statement takes the window's row under lock, creating it (already over: 1970) for a first read;
  // it waits for a concurrent flush that is deleting the row, then creates it again.
  const { rows } = await sql<WindowRow>`
    insert into ${table} (case_id, organisation_id, actor, purpose, fields, bases, window_ends_at)
    values (${read.caseId}, ${read.organisationId}, ${metadata.actor}, ${read.purpose}, ${fields}, ${bases}, ${new Date(0)})
    on conflict (case_id, organisation_id, actor, purpose, fields, bases) do update set fields = excluded.fields
    returning window_ends_at, repeats, first_repeat_at, last_repeat_at, metadata`.execute(tx);
  const row = rows[0]!;
  const endsAt = new Date(row.window_ends_at as string | Date);
  if (endsAt.getTime() > now.getTime()) {
    await sql`update ${table} set repeats = repeats + 1,
        first_repeat_at = coalesce(first_repeat_at, ${now}),
        last_repeat_at = ${now},
        metadata = coalesce(metadata, ${JSON.stringify(metadata)}::jsonb)
      where ${key}`.execute(tx);
    return;
  }
  // The window is over: its repeats first (they happened before), then this read opens a new one.
  if (row.repeats > 0) await appendAccess(deps.store, tx, repeatsEvent(read, row), json(row.metadata!), now);
  await appendAccess(deps.store, tx, single, metadata, now);
  await sql`update ${table} set window_ends_at = ${new Date(now.getTime() + deps.windowMs)}, repeats = 0,
      first_repeat_at = null, last_repeat_at = null, metadata = null
    where ${key}`.execute(tx);
}

/**
 * Records the repeats of every window that ended by `now` and forgets ended windows. Several
 * replicas may run it: each row is taken under a lock that others skip, and its event and its
 * deletion commit together. Returns the number of events recorded.
 */
export async function flushEndedAccessWindows(
  deps: { db: Kysely<any>; store: EventStore; schema: string },
  now: Date,
  limit = 100,
): Promise<number> {
  const table = sql.table(`${deps.schema}.personal_data_access_windows`);
  return deps.db.transaction().execute(async (tx) => {
    const { rows } = await sql<WindowRow & { case_id: string; organisation_id: string; actor: string; purpose: string; fields: string; bases: string }>`
      delete from ${table} where ctid in (
        select ctid from ${table} where window_ends_at <= ${now} order by window_ends_at limit ${limit} for update skip locked)
      returning case_id, organisation_id, actor, purpose, fields, bases, window_ends_at, repeats, first_repeat_at, last_repeat_at, metadata`.execute(tx);
    let recorded = 0;
    for (const r of rows) {
      if (r.repeats === 0) continue;
      const bases = json<Pick<PersonalDataRead, 'legalBases' | 'withheldFields'>>(r.bases);
      const read: PersonalDataRead = {
        caseId: r.case_id,
        organisationId: r.organisation_id,
        purpose: r.purpose,
        fields: r.fields === '' ? [] : r.fields.split(','),
        legalBases: bases.legalBases ?? [],
        withheldFields: bases.withheldFields ?? [],
      };
      await appendAccess(deps.store, tx, repeatsEvent(read, r), json(r.metadata!), now);
      recorded++;
    }
    return recorded;
  });
}
