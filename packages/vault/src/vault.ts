import { randomBytes } from 'node:crypto';
import { type Generated, type Kysely, sql, type Transaction } from 'kysely';
import { open, pack, seal, unpack } from './cipher.js';
import { VaultIntegrityError, VaultSubjectErasedError } from './errors.js';
import { type MasterKeyRing, parseMasterKeys } from './master-keys.js';

interface VaultKeysTable {
  subject_id: string;
  master_key_id: string;
  wrapped_key: string;
  created_at: Generated<Date>;
  erased_at: Date | null;
}

interface VaultFieldsTable {
  subject_id: string;
  field: string;
  ciphertext: string;
  iv: string;
  tag: string;
  updated_at: Generated<Date>;
}

interface VaultTables {
  vault_keys: VaultKeysTable;
  vault_fields: VaultFieldsTable;
}

/** The caller's Kysely or Transaction: vault writes then commit or roll back with the caller's events. */
export type VaultDb = Kysely<any>;

export type VaultRead =
  | { status: 'present'; data: Record<string, unknown> }
  | { status: 'erased'; erasedAt: Date }
  | { status: 'absent' };

export type VaultSubjectStatus =
  | { status: 'present'; masterKeyId: string; createdAt: Date }
  | { status: 'erased'; erasedAt: Date }
  | { status: 'absent' };

export interface VaultOptions {
  /** The service's schema, where migrations/common created the vault tables. */
  schema: string;
  /** A parsed ring or its `id:base64key,…` text; the first key wraps, all of them unwrap. */
  masterKeys: MasterKeyRing | string;
}

export interface Vault {
  /** Encrypts and upserts the given fields; other fields of the subject are left as they are. */
  put(db: VaultDb, subjectId: string, fields: Record<string, unknown>): Promise<void>;
  /** All the subject's fields, or only those named (missing ones are simply absent from `data`). */
  get(db: VaultDb, subjectId: string, fields?: readonly string[]): Promise<VaultRead>;
  /** Crypto-shredding: destroys the data key and the ciphertexts; idempotent and final. */
  erase(db: VaultDb, subjectId: string): Promise<{ erasedAt: Date }>;
  /** Re-wraps every live data key not under the current master key; field ciphertexts are untouched. */
  rewrap(db: VaultDb, opts?: { batchSize?: number }): Promise<{ rewrapped: number }>;
  status(db: VaultDb, subjectId: string): Promise<VaultSubjectStatus>;
}

const DATA_KEY_BYTES = 32;
// No ':' in either, so the associated data `trm-vault:<subject>:<field>` has exactly one reading.
// A field must start with a letter so `__proto__` can never become a key of the returned data.
const SUBJECT_ID = /^[A-Za-z0-9._-]{1,200}$/;
const FIELD = /^[A-Za-z][A-Za-z0-9._-]{0,99}$/;

function checkSubject(subjectId: string): void {
  if (!SUBJECT_ID.test(subjectId)) throw new TypeError('Invalid vault subject id (expected [A-Za-z0-9._-]{1,200})');
}

function checkField(field: string): void {
  if (!FIELD.test(field)) throw new TypeError(`Invalid vault field name "${field.slice(0, 100)}"`);
}

const keyAad = (subjectId: string, masterKeyId: string) => `trm-vault-key:${subjectId}:${masterKeyId}`;
const fieldAad = (subjectId: string, field: string) => `trm-vault:${subjectId}:${field}`;

function inTransaction<T>(db: VaultDb, fn: (tx: Kysely<VaultTables>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db as unknown as Kysely<VaultTables>);
  return db.transaction().execute((tx: Transaction<unknown>) => fn(tx as unknown as Kysely<VaultTables>));
}

export function createVault(opts: VaultOptions): Vault {
  const ring = typeof opts.masterKeys === 'string' ? parseMasterKeys(opts.masterKeys) : opts.masterKeys;
  const schema = opts.schema;
  const tables = (db: VaultDb | Kysely<VaultTables>) => (db as unknown as Kysely<VaultTables>).withSchema(schema);

  function wrap(subjectId: string, dataKey: Buffer): { master_key_id: string; wrapped_key: string } {
    const { id, key } = ring.current;
    return { master_key_id: id, wrapped_key: pack(seal(key, dataKey, keyAad(subjectId, id))) };
  }

  function unwrap(subjectId: string, masterKeyId: string, wrappedKey: string): Buffer {
    const master = ring.byId.get(masterKeyId);
    if (!master) throw new VaultIntegrityError(subjectId, undefined, `master key "${masterKeyId}" is not configured`);
    const dataKey = open(master.key, unpack(wrappedKey), keyAad(subjectId, masterKeyId));
    if (!dataKey || dataKey.length !== DATA_KEY_BYTES) throw new VaultIntegrityError(subjectId);
    return dataKey;
  }

  return {
    async put(db, subjectId, fields) {
      checkSubject(subjectId);
      const plaintexts = Object.entries(fields).map(([field, value]) => {
        checkField(field);
        const json = JSON.stringify(value);
        if (json === undefined) throw new TypeError(`Vault field "${field}" has no JSON value`);
        return { field, plaintext: Buffer.from(json, 'utf8') };
      });
      if (plaintexts.length === 0) return;

      await inTransaction(db, async (tx) => {
        const sealAll = (dataKey: Buffer) =>
          plaintexts.map(({ field, plaintext }) => {
            const sealed = seal(dataKey, plaintext, fieldAad(subjectId, field));
            return {
              subject_id: subjectId,
              field,
              ciphertext: sealed.ciphertext.toString('base64'),
              iv: sealed.iv.toString('base64'),
              tag: sealed.tag.toString('base64'),
            };
          });
        const upsertFields = (values: ReturnType<typeof sealAll>) =>
          tables(tx)
            .insertInto('vault_fields')
            .values(values)
            .onConflict((oc) =>
              oc.columns(['subject_id', 'field']).doUpdateSet((eb) => ({
                ciphertext: eb.ref('excluded.ciphertext'),
                iv: eb.ref('excluded.iv'),
                tag: eb.ref('excluded.tag'),
                updated_at: sql<Date>`now()`,
              })),
            );
        // FOR SHARE makes a concurrent erase wait for this write, and then delete what it wrote.
        const lockKey = () =>
          tables(tx)
            .selectFrom('vault_keys')
            .select(['master_key_id', 'wrapped_key', 'erased_at'])
            .where('subject_id', '=', subjectId)
            .forShare()
            .executeTakeFirst();
        try {
          // One round trip for a first write (the common case: a new case's subject): a fresh
          // data key is sealed into the fields before asking, and one statement either returns
          // the subject's existing key row (locked FOR SHARE; nothing written) or inserts the
          // fresh key and the fields sealed with it. The inserted key row is locked by its insert,
          // so a concurrent erase waits for this transaction as with FOR SHARE.
          const fresh = randomBytes(DATA_KEY_BYTES);
          const wrapped = wrap(subjectId, fresh);
          const sealedFresh = sealAll(fresh);
          fresh.fill(0);
          const { rows } = await sql<{ master_key_id: string; wrapped_key: string; erased_at: Date | null; inserted: boolean }>`
            with existing as (
              select master_key_id, wrapped_key, erased_at from ${sql.table(`${schema}.vault_keys`)}
              where subject_id = ${subjectId} for share
            ), new_key as (
              insert into ${sql.table(`${schema}.vault_keys`)} (subject_id, master_key_id, wrapped_key)
              select ${subjectId}, ${wrapped.master_key_id}, ${wrapped.wrapped_key}
              where not exists (select 1 from existing)
              on conflict (subject_id) do nothing
              returning master_key_id, wrapped_key, erased_at
            ), new_fields as (
              insert into ${sql.table(`${schema}.vault_fields`)} (subject_id, field, ciphertext, iv, tag)
              select f.subject_id, f.field, f.ciphertext, f.iv, f.tag
              from jsonb_to_recordset(${JSON.stringify(sealedFresh)}::jsonb)
                as f(subject_id text, field text, ciphertext text, iv text, tag text)
              where exists (select 1 from new_key)
              returning 1
            )
            select master_key_id, wrapped_key, erased_at, false as inserted from existing
            union all
            select master_key_id, wrapped_key, erased_at, (select count(*) from new_fields) > 0 as inserted from new_key`.execute(tx);
          const first = rows[0];
          if (first?.inserted) return;
          // The subject has a key already (or a concurrent first write committed its own after
          // this statement's snapshot: read it again, now that its insert has settled).
          const row = first ?? (await lockKey());
          if (!row) throw new Error('Vault key row vanished while being created');
          if (row.erased_at !== null) throw new VaultSubjectErasedError(subjectId);
          const dataKey = unwrap(subjectId, row.master_key_id, row.wrapped_key);
          try {
            await upsertFields(sealAll(dataKey)).execute();
          } finally {
            dataKey.fill(0);
          }
        } finally {
          for (const { plaintext } of plaintexts) plaintext.fill(0);
        }
      });
    },

    async get(db, subjectId, fields) {
      checkSubject(subjectId);
      fields?.forEach(checkField);
      // One statement, one snapshot: an erase cannot land between reading the key and the fields.
      let query = tables(db)
        .selectFrom('vault_keys as k')
        .select(['k.master_key_id', 'k.wrapped_key', 'k.erased_at'])
        .where('k.subject_id', '=', subjectId);
      const rows =
        fields?.length === 0
          ? (await query.execute()).map((r) => ({ ...r, field: null, ciphertext: null, iv: null, tag: null }))
          : await query
              .leftJoin('vault_fields as f', (join) => {
                const on = join.onRef('f.subject_id', '=', 'k.subject_id');
                return fields ? on.on('f.field', 'in', fields) : on;
              })
              .select(['f.field', 'f.ciphertext', 'f.iv', 'f.tag'])
              .execute();

      const first = rows[0];
      if (!first) return { status: 'absent' };
      if (first.erased_at !== null) return { status: 'erased', erasedAt: first.erased_at };

      const dataKey = unwrap(subjectId, first.master_key_id, first.wrapped_key);
      try {
        const data: Record<string, unknown> = {};
        for (const row of rows) {
          if (row.field === null || row.ciphertext === null || row.iv === null || row.tag === null) continue;
          const sealed = {
            iv: Buffer.from(row.iv, 'base64'),
            tag: Buffer.from(row.tag, 'base64'),
            ciphertext: Buffer.from(row.ciphertext, 'base64'),
          };
          const plaintext = open(dataKey, sealed, fieldAad(subjectId, row.field));
          if (!plaintext) throw new VaultIntegrityError(subjectId, row.field);
          try {
            data[row.field] = JSON.parse(plaintext.toString('utf8'));
          } catch {
            throw new VaultIntegrityError(subjectId, row.field);
          } finally {
            plaintext.fill(0);
          }
        }
        return { status: 'present', data };
      } finally {
        dataKey.fill(0);
      }
    },

    async erase(db, subjectId) {
      checkSubject(subjectId);
      return inTransaction(db, async (tx) => {
        // The key row first: it waits for writers holding it FOR SHARE, so the delete below
        // (a later statement, a fresher snapshot) also removes the fields they wrote. Erasing a
        // subject never seen still leaves the marker, so no later write can bring it to life.
        const marker = await tables(tx)
          .insertInto('vault_keys')
          .values({ subject_id: subjectId, master_key_id: '', wrapped_key: '', erased_at: sql<Date>`now()` })
          .onConflict((oc) =>
            oc.column('subject_id').doUpdateSet({
              master_key_id: '',
              wrapped_key: '',
              erased_at: sql<Date>`coalesce(vault_keys.erased_at, now())`,
            }),
          )
          .returning('erased_at')
          .executeTakeFirstOrThrow();
        await tables(tx).deleteFrom('vault_fields').where('subject_id', '=', subjectId).execute();
        return { erasedAt: marker.erased_at as Date };
      });
    },

    async rewrap(db, opts = {}) {
      const batchSize = opts.batchSize ?? 100;
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer');
      let rewrapped = 0;
      for (;;) {
        const done = await inTransaction(db, async (tx) => {
          // SKIP LOCKED lets several replicas rotate at once, each taking different subjects.
          const batch = await tables(tx)
            .selectFrom('vault_keys')
            .select(['subject_id', 'master_key_id', 'wrapped_key'])
            .where('erased_at', 'is', null)
            .where('master_key_id', '<>', ring.current.id)
            .orderBy('subject_id')
            .limit(batchSize)
            .forUpdate()
            .skipLocked()
            .execute();
          for (const row of batch) {
            const dataKey = unwrap(row.subject_id, row.master_key_id, row.wrapped_key);
            try {
              await tables(tx).updateTable('vault_keys').set(wrap(row.subject_id, dataKey)).where('subject_id', '=', row.subject_id).execute();
            } finally {
              dataKey.fill(0);
            }
          }
          return batch.length;
        });
        rewrapped += done;
        if (done < batchSize) return { rewrapped };
      }
    },

    async status(db, subjectId) {
      checkSubject(subjectId);
      const row = await tables(db)
        .selectFrom('vault_keys')
        .select(['master_key_id', 'created_at', 'erased_at'])
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
      if (!row) return { status: 'absent' };
      if (row.erased_at !== null) return { status: 'erased', erasedAt: row.erased_at };
      return { status: 'present', masterKeyId: row.master_key_id, createdAt: row.created_at };
    },
  };
}
