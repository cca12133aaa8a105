import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createPgDb, createPgliteDb, type Db, MIGRATIONS_ROOT, migrate } from '@trm/db';
import { createTestDatabase, type TestDatabase } from '@trm/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultIntegrityError, VaultSubjectErasedError } from './errors.js';
import { generateMasterKey } from './master-keys.js';
import { createVault } from './vault.js';

const SCHEMA = 'vault_test';
const KEY_A = generateMasterKey();
const KEY_B = generateMasterKey();

let testDb: TestDatabase;
let db: Db;

beforeAll(async () => {
  testDb = await createTestDatabase('trm_vault');
  db = createPgDb(testDb.url, { max: 4 }).db;
  await migrate(db, { schema: SCHEMA });
});

afterAll(async () => {
  await db?.destroy();
  await testDb?.drop();
});

const vault = () => createVault({ schema: SCHEMA, masterKeys: `a:${KEY_A}` });
const subject = () => `case-${randomUUID()}`;

async function fieldRow(schema: string, subjectId: string, field: string) {
  return db
    .withSchema(schema)
    .selectFrom('vault_fields')
    .select(['ciphertext', 'iv', 'tag'])
    .where('subject_id', '=', subjectId)
    .where('field', '=', field)
    .executeTakeFirstOrThrow();
}

async function expectIntegrityError(p: Promise<unknown>, ...secrets: string[]): Promise<VaultIntegrityError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VaultIntegrityError);
  for (const secret of secrets) expect((err as Error).message).not.toContain(secret);
  return err as VaultIntegrityError;
}

describe('vault on PostgreSQL', () => {
  it('round-trips JSON values, updates one field and reads a subset', async () => {
    const v = vault();
    const id = subject();
    const fields = {
      fullName: 'Ioana Popescu',
      birthDate: '1999-04-12',
      contacts: { phone: '+40 721 000 000', email: null },
      documents: [{ kind: 'passport', number: 'RO1234567' }],
      children: 2,
      interpreterNeeded: true,
    };
    await v.put(db, id, fields);
    expect(await v.get(db, id)).toEqual({ status: 'present', data: fields });

    await v.put(db, id, { children: 3 });
    expect(await v.get(db, id)).toEqual({ status: 'present', data: { ...fields, children: 3 } });
    expect(await v.get(db, id, ['fullName', 'notStored'])).toEqual({ status: 'present', data: { fullName: 'Ioana Popescu' } });
    expect(await v.get(db, id, [])).toEqual({ status: 'present', data: {} });
    expect(await v.status(db, id)).toMatchObject({ status: 'present', masterKeyId: 'a' });
  });

  it('reports an unknown subject as absent and refuses malformed names', async () => {
    const v = vault();
    const id = subject();
    expect(await v.get(db, id)).toEqual({ status: 'absent' });
    expect(await v.status(db, id)).toEqual({ status: 'absent' });
    await expect(v.put(db, 'a:b', { x: 1 })).rejects.toThrow(TypeError);
    await expect(v.put(db, id, { 'a:b': 1 })).rejects.toThrow(TypeError);
    await expect(v.put(db, id, { __proto__x: 1 })).rejects.toThrow(TypeError);
    await expect(v.put(db, id, { fn: () => 1 })).rejects.toThrow(TypeError);
    expect(await v.status(db, id)).toEqual({ status: 'absent' });
  });

  it('stores no plaintext in any column', async () => {
    const v = vault();
    const id = subject();
    const name = `Zamfirescu-${randomUUID()}`;
    await v.put(db, id, { fullName: name, narrative: `Recruited in Iasi by ${name}` });
    const { rows } = await sql<{ row: string }>`
      select t::text as row from ${sql.id(SCHEMA, 'vault_fields')} t
      union all select t::text from ${sql.id(SCHEMA, 'vault_keys')} t`.execute(db);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    const all = rows.map((r) => r.row).join('\n');
    expect(all).toContain(id);
    for (const encoded of [name, Buffer.from(name).toString('base64'), Buffer.from(name).toString('hex'), name.slice(0, 12)]) {
      expect(all).not.toContain(encoded);
    }
  });

  it('refuses a ciphertext moved to another subject or field, or tampered with', async () => {
    const v = vault();
    const [x, y] = [subject(), subject()];
    await v.put(db, x, { fullName: 'Maria X', alias: 'Mia' });
    await v.put(db, y, { fullName: 'Elena Y' });
    const moved = await fieldRow(SCHEMA, x, 'fullName');
    const t = db.withSchema(SCHEMA);

    await t.updateTable('vault_fields').set(moved).where('subject_id', '=', y).where('field', '=', 'fullName').execute();
    const err = await expectIntegrityError(v.get(db, y), 'Maria X', 'Elena Y');
    expect(err.subjectId).toBe(y);
    expect(err.field).toBe('fullName');

    await t.updateTable('vault_fields').set(moved).where('subject_id', '=', x).where('field', '=', 'alias').execute();
    await expectIntegrityError(v.get(db, x, ['alias']), 'Maria X');
    expect(await v.get(db, x, ['fullName'])).toEqual({ status: 'present', data: { fullName: 'Maria X' } });

    const bytes = Buffer.from(moved.ciphertext, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    await t.updateTable('vault_fields').set({ ciphertext: bytes.toString('base64') }).where('subject_id', '=', x).where('field', '=', 'fullName').execute();
    await expectIntegrityError(v.get(db, x, ['fullName']));

    const truncatedTag = Buffer.from(moved.tag, 'base64').subarray(0, 8).toString('base64');
    await t.updateTable('vault_fields').set({ ...moved, tag: truncatedTag }).where('subject_id', '=', x).where('field', '=', 'fullName').execute();
    await expectIntegrityError(v.get(db, x, ['fullName']));
  });

  it('refuses a data key moved to another subject', async () => {
    const v = vault();
    const [x, y] = [subject(), subject()];
    await v.put(db, x, { fullName: 'Ana X' });
    await v.put(db, y, { fullName: 'Dana Y' });
    const t = db.withSchema(SCHEMA);
    const keyX = await t.selectFrom('vault_keys').select('wrapped_key').where('subject_id', '=', x).executeTakeFirstOrThrow();
    await t.updateTable('vault_keys').set(keyX).where('subject_id', '=', y).execute();
    const err = await expectIntegrityError(v.get(db, y), 'Dana Y');
    expect(err.field).toBeUndefined();
  });

  it('refuses a wrong master key under the same id', async () => {
    const id = subject();
    await vault().put(db, id, { fullName: 'Irina Z' });
    const wrong = createVault({ schema: SCHEMA, masterKeys: `a:${generateMasterKey()}` });
    await expectIntegrityError(wrong.get(db, id), 'Irina Z');
    await expectIntegrityError(wrong.put(db, id, { alias: 'I' }));
    const unknown = createVault({ schema: SCHEMA, masterKeys: `z:${KEY_A}` });
    await expect(unknown.get(db, id)).rejects.toThrow(/master key "a" is not configured/);
  });

  it('erases for good: key blanked, fields deleted, later writes refused', async () => {
    const v = vault();
    const [id, other] = [subject(), subject()];
    await v.put(db, id, { fullName: 'Victim One', phone: '+39 000' });
    await v.put(db, other, { fullName: 'Victim Two' });

    const { erasedAt } = await v.erase(db, id);
    expect(erasedAt).toBeInstanceOf(Date);
    expect(await v.status(db, id)).toEqual({ status: 'erased', erasedAt });
    expect(await v.get(db, id)).toEqual({ status: 'erased', erasedAt });

    const t = db.withSchema(SCHEMA);
    expect(await t.selectFrom('vault_fields').select('field').where('subject_id', '=', id).execute()).toEqual([]);
    expect(await t.selectFrom('vault_keys').select(['master_key_id', 'wrapped_key']).where('subject_id', '=', id).executeTakeFirst()).toEqual({
      master_key_id: '',
      wrapped_key: '',
    });

    await expect(v.put(db, id, { fullName: 'Victim One' })).rejects.toBeInstanceOf(VaultSubjectErasedError);
    expect((await v.erase(db, id)).erasedAt).toEqual(erasedAt);
    expect(await v.get(db, other)).toEqual({ status: 'present', data: { fullName: 'Victim Two' } });

    const neverSeen = subject();
    await v.erase(db, neverSeen);
    expect((await v.status(db, neverSeen)).status).toBe('erased');
    await expect(v.put(db, neverSeen, { x: 1 })).rejects.toBeInstanceOf(VaultSubjectErasedError);
  });

  it("joins the caller's transaction", async () => {
    const v = vault();
    const id = subject();
    await expect(
      db.transaction().execute(async (tx) => {
        await v.put(tx, id, { fullName: 'Rolled Back' });
        expect(await v.get(tx, id)).toEqual({ status: 'present', data: { fullName: 'Rolled Back' } });
        throw new Error('event append failed');
      }),
    ).rejects.toThrow('event append failed');
    expect(await v.status(db, id)).toEqual({ status: 'absent' });

    await v.put(db, id, { fullName: 'Kept' });
    await expect(
      db.transaction().execute(async (tx) => {
        await v.erase(tx, id);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await v.get(db, id)).toEqual({ status: 'present', data: { fullName: 'Kept' } });
  });

  it('lets concurrent first writes for one subject share one key', async () => {
    const v = vault();
    const id = subject();
    await Promise.all([v.put(db, id, { a: 1 }), v.put(db, id, { b: 2 }), v.put(db, id, { c: 3 })]);
    expect(await v.get(db, id)).toEqual({ status: 'present', data: { a: 1, b: 2, c: 3 } });
  });

  it('writes a new subject in one statement, an existing one in two, inside the caller transaction', async () => {
    const v = vault();
    const id = subject();
    const counted = async (fn: (tx: Db) => Promise<void>): Promise<number> => {
      let n = 0;
      const counter = { transformQuery: (args: { node: never }) => (n++, args.node), transformResult: async (args: { result: never }) => args.result };
      await db.transaction().execute((tx) => fn(tx.withPlugin(counter) as unknown as Db));
      return n;
    };
    expect(await counted((tx) => v.put(tx, id, { fullName: 'First', phone: '+40 1' }))).toBe(1);
    expect(await v.get(db, id)).toEqual({ status: 'present', data: { fullName: 'First', phone: '+40 1' } });
    expect(await counted((tx) => v.put(tx, id, { phone: '+40 2' }))).toBe(2);
    expect(await v.get(db, id)).toEqual({ status: 'present', data: { fullName: 'First', phone: '+40 2' } });
  });
});

describe('master key rotation', () => {
  const schema = 'vault_rotation_test';

  beforeAll(async () => {
    await migrate(db, { schema });
  });

  it('rewraps every live data key under the new key without touching field ciphertexts', async () => {
    const underA = createVault({ schema, masterKeys: `a:${KEY_A}` });
    const ids = [subject(), subject(), subject()];
    for (const [i, id] of ids.entries()) await underA.put(db, id, { fullName: `Person ${i}` });
    const erased = subject();
    await underA.put(db, erased, { fullName: 'Gone' });
    await underA.erase(db, erased);
    const fieldsBefore = await db.withSchema(schema).selectFrom('vault_fields').selectAll().orderBy('subject_id').execute();

    const rotating = createVault({ schema, masterKeys: `b:${KEY_B},a:${KEY_A}` });
    expect(await rotating.get(db, ids[0]!)).toEqual({ status: 'present', data: { fullName: 'Person 0' } });
    expect(await rotating.rewrap(db, { batchSize: 2 })).toEqual({ rewrapped: 3 });
    expect(await rotating.rewrap(db, { batchSize: 2 })).toEqual({ rewrapped: 0 });

    const underB = createVault({ schema, masterKeys: `b:${KEY_B}` });
    for (const [i, id] of ids.entries()) {
      expect(await underB.get(db, id)).toEqual({ status: 'present', data: { fullName: `Person ${i}` } });
      expect(await underB.status(db, id)).toMatchObject({ masterKeyId: 'b' });
    }
    expect((await underB.status(db, erased)).status).toBe('erased');
    expect(await db.withSchema(schema).selectFrom('vault_fields').selectAll().orderBy('subject_id').execute()).toEqual(fieldsBefore);

    await expectIntegrityError(underA.get(db, ids[0]!), 'Person 0');
    // Rotating back needs the key the data keys are now under.
    await expect(underA.rewrap(db, { batchSize: 10 })).rejects.toThrow(/master key "b" is not configured/);
  });

  it('rewraps inside a caller transaction and refuses a bad batch size', async () => {
    const id = subject();
    await createVault({ schema, masterKeys: `c:${KEY_A}` }).put(db, id, { n: 1 });
    const toB = createVault({ schema, masterKeys: `b:${KEY_B},c:${KEY_A}` });
    const result = await db.transaction().execute((tx) => toB.rewrap(tx, { batchSize: 1 }));
    expect(result).toEqual({ rewrapped: 1 });
    await expect(toB.rewrap(db, { batchSize: 0 })).rejects.toThrow(RangeError);
  });
});

/**
 * The vault's own migration, statement by statement. `migrate()` cannot be used on PGlite yet:
 * it sends each file as one prepared statement, which PGlite refuses for multi-statement files
 * ("cannot insert multiple commands into a prepared statement"). The file has no $$ bodies, so
 * splitting on `;` at line ends is exact.
 */
async function applyVaultMigration(lite: Db, schema: string): Promise<void> {
  const text = await readFile(path.join(MIGRATIONS_ROOT, 'common', '2026-11-22T0004_vault.sql'), 'utf8');
  await sql`create schema ${sql.id(schema)}`.execute(lite);
  await lite.transaction().execute(async (tx) => {
    await sql`select set_config('search_path', ${schema}, true)`.execute(tx);
    for (const statement of text.split(/;\s*$/m)) {
      if (statement.replace(/--.*$/gm, '').trim() !== '') await sql.raw(statement).execute(tx);
    }
  });
}

describe('vault on PGlite (embedded mode)', () => {
  it('puts, gets, rewraps and erases', async () => {
    const { db: lite, close } = await createPgliteDb(undefined);
    try {
      await applyVaultMigration(lite, 'vault');
      const id = subject();
      await createVault({ schema: 'vault', masterKeys: `a:${KEY_A}` }).put(lite, id, { fullName: 'Embedded Person', age: 17 });
      const v = createVault({ schema: 'vault', masterKeys: `b:${KEY_B},a:${KEY_A}` });
      expect(await v.rewrap(lite, { batchSize: 10 })).toEqual({ rewrapped: 1 });
      expect(await v.get(lite, id)).toEqual({ status: 'present', data: { fullName: 'Embedded Person', age: 17 } });
      await v.erase(lite, id);
      expect((await v.get(lite, id)).status).toBe('erased');
    } finally {
      await close();
    }
  });
});
