import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPgDb } from '@trm/db';
import { createEventStore } from '@trm/event-store';
import { sql } from 'kysely';
import pg from 'pg';
import { expect, it } from 'vitest';
import { appendStreams } from '../test/fault-helpers.js';
import { SCHEMA, setUpDatabase } from '../test/helpers.js';
import { pgTool, startPrivatePostgres } from '../test/private-postgres.js';
import { saveRelayCheckpoint } from './checkpoints.js';
import { TransactionIdsBehindError, assertTransactionIdsAhead } from './maintenance.js';

// Issue 16, found 5: after a logical dump restored into a new cluster, transaction ids start again
// below the restored events and relay checkpoints: new events sort before them and the relay,
// reading after its checkpoint, never publishes them. Start-up must refuse, and say what to do.

/** Transaction ids the source cluster must be ahead of a fresh one by (initdb, restore and margin). */
const XID_LEAD = 20_000;

async function currentXid(url: string): Promise<bigint> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ xid: string }>('select pg_snapshot_xmax(pg_current_snapshot())::text as xid');
    return BigInt(rows[0]!.xid);
  } finally {
    await c.end();
  }
}

it('a dump restored into a fresh cluster is refused at start, with what to do (pg_resetwal); after doing it, start-up goes on', async () => {
  const database = await setUpDatabase();
  const cluster = await startPrivatePostgres();
  const work = await mkdtemp(path.join(os.tmpdir(), 'trm-dump-'));
  let restored: ReturnType<typeof createPgDb>['db'] | undefined;
  try {
    const { db } = database;
    // The shared cluster is normally far ahead of a fresh one; on a fresh machine, make it so
    // (subtransactions that write each take a transaction id).
    const before = await currentXid(database.url);
    const fresh = await currentXid(cluster.url());
    let burnt = 0;
    if (before < fresh + BigInt(XID_LEAD)) {
      burnt = Number(fresh + BigInt(XID_LEAD) - before);
      await sql`create temporary table xid_burn (n int)`.execute(db);
      await sql.raw(`do $$ begin for i in 1..${burnt} loop begin insert into xid_burn values (i); exception when others then null; end; end loop; end $$`).execute(db);
    }
    const store = createEventStore({ schema: SCHEMA });
    const events = await appendStreams(store, db, { streams: 20, tag: 'restore' });
    const all = await store.readGlobal(db, { transactionId: '0', globalPosition: '0' }, 1_000);
    await saveRelayCheckpoint(db, SCHEMA, 'referrals', store.checkpointOf(all.at(-1)!));
    // The source itself is fine.
    await assertTransactionIdsAhead(db, SCHEMA);

    const dump = path.join(work, 'trm.dump');
    await pgTool('pg_dump', ['--format=custom', '--no-owner', `--file=${dump}`, `--dbname=${database.url}`]);
    const admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    await admin.query('create database restored');
    await admin.end();
    // Without owners and grants: they name roles of the source cluster, which a fresh one lacks.
    await pgTool('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${cluster.url('restored')}`, dump]);
    const restoredAt = await currentXid(cluster.url('restored'));

    restored = createPgDb(cluster.url('restored'), { max: 2 }).db;
    const { rows } = await sql<{ n: number; stored: string }>`select count(*)::int as n, max(transaction_id)::text as stored from ${sql.table(`${SCHEMA}.events`)}`.execute(restored);
    const refusal = await assertTransactionIdsAhead(restored, SCHEMA).then(
      () => undefined,
      (err: unknown) => err,
    );
    console.info(
      `[restore] source cluster at xid ${before}${burnt ? ` (burnt ${burnt})` : ''}, ${events} events and a relay checkpoint up to xid ${rows[0]!.stored}; ` +
        `fresh cluster at ${fresh}, ${restoredAt} after the restore; refused: ${refusal instanceof TransactionIdsBehindError}\n${(refusal as Error | undefined)?.message}`,
    );
    expect(rows[0]!.n).toBe(events);
    expect(BigInt(rows[0]!.stored)).toBeGreaterThan(restoredAt);
    expect(refusal).toBeInstanceOf(TransactionIdsBehindError);
    const message = (refusal as Error).message;
    expect(message).toContain(SCHEMA);
    expect(message).toContain('pg_resetwal');
    expect(message).toContain(rows[0]!.stored);

    // What the message says to do, done: the cluster stopped, its transaction ids moved, started.
    const command = /pg_resetwal (--epoch=\d+) (--next-transaction-id=\d+) <data directory>/.exec(message);
    expect(command).not.toBeNull();
    await restored.destroy();
    restored = undefined;
    await cluster.stop();
    await pgTool('pg_resetwal', [command![1]!, command![2]!, cluster.data], { asPostgres: true });
    await cluster.start();
    restored = createPgDb(cluster.url('restored'), { max: 2 }).db;
    await assertTransactionIdsAhead(restored, SCHEMA);
    // And the cluster works past the restored ids: a new event sorts after the restored ones.
    const appended = await store.append(restored, 'case-after-restore', [{ type: 'CaseNotified', data: {} }], {
      expectedVersion: 'no_stream',
      metadata: { actor: 'system:test', organisation: 'org-test', correlationId: 'corr', causationId: null, requestId: null },
    });
    expect(BigInt(appended.events[0]!.transactionId)).toBeGreaterThan(BigInt(rows[0]!.stored));
    console.info(`[restore] after ${command![0]}: start-up goes on, a new event gets xid ${appended.events[0]!.transactionId}`);
  } finally {
    await restored?.destroy().catch(() => {});
    await cluster.destroy();
    await rm(work, { recursive: true, force: true });
    await database.tearDown();
  }
}, 180_000);
