import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestDatabase } from '@trm/testing';
import { createVault, generateMasterKey, VaultIntegrityError } from '@trm/vault';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { type SecurityStack, startSecurityStack } from './support/security/stack.js';
import { buildWorld, call, type World } from './support/security/world.js';

/**
 * Master key rotation as an operator runs it: the services run with the old key, the ring
 * `new,old` is given to `npm run -s keys:rotate` (apps/trm/dist/rotate-keys.js), then the services
 * restart with the new key alone and every vault of every service still reads.
 */
const run = promisify(execFile);
const CLI = path.resolve('apps/trm/dist/rotate-keys.js');
const OLD = `old-1:${generateMasterKey()}`;
const NEW = `new-2:${generateMasterKey()}`;
const person = { givenName: 'Rotated', familyName: `Person${Date.now()}`, birthDate: '1990-05-06' };

let first: SecurityStack | undefined;
let second: SecurityStack | undefined;
let database: TestDatabase | undefined;
let world: World;
let dataDir: string | undefined;

afterAll(async () => {
  await first?.close({ keepDatabase: true }).catch(() => {});
  await second?.close();
  if (!second) await database?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function rotate(masterKeys: string) {
  dataDir ??= await mkdtemp(path.join(os.tmpdir(), 'trm-rotate-'));
  return run(process.execPath, [CLI], {
    env: { PATH: process.env.PATH, DATABASE_URL: database!.url, TRM_MASTER_KEYS: masterKeys, TRM_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

async function fields(schema: string) {
  return (await sql<{ row: string }>`select f::text as row from ${sql.id(schema, 'vault_fields')} f order by subject_id, field`.execute(first!.db)).rows;
}

describe('npm run -s keys:rotate', () => {
  it('re-wraps every vault under the new key without re-encrypting, after which the old key can go', async () => {
    first = await startSecurityStack({ masterKeys: OLD, now: new Date('2026-11-20T10:00:00.000Z') });
    database = first.database;
    world = await buildWorld(first, person);
    const before = { referrals: await fields('referrals'), proceedings: await fields('proceedings') };
    expect(before.referrals.length).toBeGreaterThan(0);
    expect(before.proceedings.length).toBeGreaterThan(0);

    // Without the key the data keys are under, nothing is touched and the operator is told why.
    const wrong = await rotate(NEW);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/master key "old-1" is not configured/);
    expect(wrong.stderr).not.toContain(OLD.split(':')[1]!.slice(0, 12));

    const rotated = await rotate(`${NEW},${OLD}`);
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain('referrals: 1 data key(s) re-wrapped');
    expect(rotated.stdout).toContain('proceedings: 1 data key(s) re-wrapped');
    expect(rotated.stdout).toContain('re-wrapped 2 data key(s) under master key "new-2"; the old keys may now be removed');
    expect(rotated.stdout).not.toContain(NEW.split(':')[1]!.slice(0, 12));
    // Ciphertexts of the personal data are exactly as they were.
    expect(await fields('referrals')).toEqual(before.referrals);
    expect(await fields('proceedings')).toEqual(before.proceedings);
    // Idempotent: a second run has nothing left to do.
    expect((await rotate(`${NEW},${OLD}`)).stdout).toContain('re-wrapped 0 data key(s)');

    // The old key alone no longer opens anything.
    await expect(createVault({ schema: 'referrals', masterKeys: OLD }).get(first.db, world.caseId)).rejects.toBeInstanceOf(VaultIntegrityError);
  });

  it('lets the services restarted with the new key alone read every vault through the API', async () => {
    expect(database).toBeDefined();
    await first!.close({ keepDatabase: true });
    first = undefined;
    second = await startSecurityStack({ masterKeys: NEW, database: database!, now: new Date('2026-11-20T11:00:00.000Z') });
    const anitp = await second.token('anitp', ['case_officer', 'proceedings_coordinator']);
    const read = await call(second, anitp, 'GET', `/v1/cases/${world.caseId}/personal-data?purpose=case_management`);
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json().data).toMatchObject(person);
    const reference = await call(second, anitp, 'GET', `/v1/proceedings/${world.caseId}/criminal-cases/${world.criminalCaseId}/reference?purpose=case_management`);
    expect(reference.statusCode, reference.body).toBe(200);
    expect(reference.json().reference).toContain(person.familyName);
  });
});
