/**
 * `npm run -s audit:reconcile`: compares every service's own events with the ledger and reports
 * events missing from the ledger and ledger entries no service has. Exit 0 when they agree, 1
 * when they do not, 2 on bad configuration.
 *
 * DATABASE_URL selects the PostgreSQL cluster (distributed mode). Without it, the embedded
 * database under TRM_DATA_DIR is opened: stop `make run` first (PGlite allows one process).
 * RECONCILE_GRACE_SECONDS (default 60): younger events are in flight, not missing.
 */
import path from 'node:path';
import { createPgDb, createPgliteDb, type Db } from '@trm/db';
import { z } from 'zod';
import { LEDGER_SCHEMA } from './constants.js';
import { reconcile } from './reconcile/reconcile.js';

const Env = z.object({
  DATABASE_URL: z.string().url().optional(),
  TRM_DATA_DIR: z.string().default('.data'),
  RECONCILE_GRACE_SECONDS: z.coerce.number().min(0).default(60),
});

const parsed = Env.safeParse(process.env);
if (!parsed.success) {
  process.stderr.write(`Invalid configuration: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}\n`);
  process.exit(2);
}
const env = parsed.data;
let db: Db;
let close: () => Promise<void>;
if (env.DATABASE_URL) {
  ({ db } = createPgDb(env.DATABASE_URL, { max: 2, applicationName: 'trm-reconcile' }));
  close = () => db.destroy();
} else {
  const embedded = await createPgliteDb(path.resolve(env.TRM_DATA_DIR, 'pglite'));
  db = embedded.db;
  close = embedded.close;
}

try {
  const report = await reconcile(db, { ledgerSchema: LEDGER_SCHEMA, graceMs: env.RECONCILE_GRACE_SECONDS * 1000, now: new Date() });
  const lines: string[] = [];
  for (const s of report.services) {
    lines.push(
      `${s.service}: ${s.events} events, ${s.entries} in the ledger, ${s.missingFromLedger.count} missing from the ledger, ` +
        `${s.unknownToService.count} unknown to the service, ${s.differing.count} differing, ${s.inFlight} in flight`,
    );
    for (const d of s.missingFromLedger.items) lines.push(`  missing from the ledger: event ${d.eventId} (${d.streamId}, recorded ${d.recordedAt})`);
    for (const d of s.unknownToService.items) lines.push(`  in the ledger only: entry ${d.index}, event ${d.eventId} (${d.streamId})`);
    for (const d of s.differing.items) lines.push(`  differs: entry ${d.index}, event ${d.eventId} (${d.streamId})`);
  }
  for (const u of report.unknownServices) lines.push(`ledger entries of a service with no events here: ${u.service} (${u.entries})`);
  lines.push(report.ok ? 'OK: every service event is in the ledger and every ledger entry is a service event' : 'FAILED: the ledger and the services disagree');
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exitCode = report.ok ? 0 : 1;
} finally {
  await close();
}
