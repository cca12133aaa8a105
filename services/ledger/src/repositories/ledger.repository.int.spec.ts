import { type Db, createPgDb, migrate } from '@trm/db';
import { type TestDatabase, createTestDatabase } from '@trm/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { insertHead, latestHead } from './ledger.repository.js';

let tdb: TestDatabase;
let db: Db;
const SCHEMA = 'ledger';

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = createPgDb(tdb.url, { max: 2, applicationName: 'trm-test-ledger-repository' }).db;
  await migrate(db, { schema: SCHEMA, service: 'ledger' });
});
afterAll(async () => {
  await db?.destroy();
  await tdb?.drop();
});

const head = (treeSize: number) => ({ treeSize, timestamp: 1_790_000_000_000 + treeSize, rootHash: 'ab'.repeat(32), keyId: 'k1', signature: `sig-${treeSize}` });

it('gives the head of the largest tree, compared as numbers: 26 after 7, 10 after 9', async () => {
  for (const size of [0, 4, 7, 9]) expect(await insertHead(db, SCHEMA, head(size))).toBe(true);
  expect((await latestHead(db, SCHEMA))?.treeSize).toBe(9);
  expect(await insertHead(db, SCHEMA, head(26))).toBe(true);
  expect((await latestHead(db, SCHEMA))?.treeSize).toBe(26);
  expect(await insertHead(db, SCHEMA, head(10))).toBe(true);
  expect((await latestHead(db, SCHEMA))?.treeSize).toBe(26);
  expect(await insertHead(db, SCHEMA, head(26))).toBe(false);
});
