/**
 * `npm run stats:rebuild`: replays every service's events into fresh fact tables, shows progress
 * and events/s, compares with the live tables and swaps. Uses DATABASE_URL when set (distributed),
 * otherwise the embedded PGlite folder (stop `make run` first: PGlite has one process at a time).
 */
import path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { createPgDb, createPgliteDb, migrate } from '@trm/db';
import { loadHostConfig } from '@trm/runtime';
import { STATISTICS_SCHEMA } from './constants.js';
import { rebuildFacts } from './rebuild/rebuild.js';

const config = loadHostConfig();
const { db } = config.DATABASE_URL
  ? createPgDb(config.DATABASE_URL, { max: 2, applicationName: 'trm-stats-rebuild' })
  : await createPgliteDb(path.join(config.dataDir, 'pglite'));
try {
  await migrate(db, { schema: STATISTICS_SCHEMA, service: 'statistics' });
  const bar = new SingleBar({ format: 'rebuild [{bar}] {percentage}% | {value}/{total} events | {speed} events/s', hideCursor: true }, Presets.shades_classic);
  const started = Date.now();
  const report = await rebuildFacts(db, {
    swap: !process.argv.includes('--dry-run'),
    onStart: (total) => bar.start(total, 0, { speed: 0 }),
    onProgress: (done) => bar.update(done, { speed: Math.round(done / Math.max((Date.now() - started) / 1000, 0.001)) }),
  });
  bar.stop();
  process.stdout.write(
    `${report.events} events in ${report.seconds.toFixed(2)} s: ${report.eventsPerSecond} events/s (${Object.entries(report.perService)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')})\n`,
  );
  const diffs = Object.entries(report.differences).filter(([, n]) => n > 0);
  process.stdout.write(
    report.equal
      ? 'rebuilt tables equal the live ones\n'
      : `rebuilt tables differ from the live ones: ${diffs.map(([t, n]) => `${t} ${n} rows`).join(', ') || 'none'}; live consumer behind by ${report.liveBehindBy} events\n`,
  );
  process.stdout.write(report.swapped ? 'swapped: the live tables are now the rebuilt ones\n' : 'dry run: live tables unchanged\n');
  process.exitCode = report.equal || report.swapped ? 0 : 1;
} finally {
  await db.destroy();
}
