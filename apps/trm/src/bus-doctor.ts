/**
 * `npm run -s bus:doctor -- [command] [options]`: the bus as the operator sees it, and its repairs.
 *
 *   report                                   (default) consumers, dead letters, lag, gaps, relays, stream
 *   replay --dead-letter <schema>:<id>       resolve the stream's dead letters and deliver them again
 *   replay --consumer <name> --stream <source>/<stream id>   fill a gap
 *   discard --dead-letter <schema>:<id>      give up on one event (the later versions are replayed)
 *   reset-checkpoint --relay <schema>.<name> --to start      the relay publishes its whole log again
 *   republish --relay <schema>.<name>        the same
 *
 * Every repair is a dry run unless --apply is given. --json prints the answer as JSON.
 *
 * Distributed mode: against DATABASE_URL, and NATS_URL (NATS_STREAM, NATS_SUBJECT_PREFIX, and
 * NATS_USER/NATS_PASSWORD with per-service users: a replay publishes the source service's events,
 * so it needs that service's user) for the stream and durables and to deliver events again. `make run` (PGlite admits one process): give
 * `--url http://127.0.0.1:8080 --token <token>` (or TRM_TOKEN), a token of the registry operator's
 * `operator` role, and the running host answers through its operator route.
 */
import { parseArgs } from 'node:util';
import { doctor } from '@trm/bus';
import { ServiceName } from '@trm/contracts';
import { createPgDb } from '@trm/db';
import { loadHostConfig } from '@trm/runtime';

const USAGE = `usage: npm run -s bus:doctor -- [report] [--json]
       npm run -s bus:doctor -- replay --dead-letter <schema>:<id> [--apply] [--wait <seconds>]
       npm run -s bus:doctor -- replay --consumer <name> --stream <source>/<stream id> [--apply]
       npm run -s bus:doctor -- discard --dead-letter <schema>:<id> [--apply]
       npm run -s bus:doctor -- reset-checkpoint --relay <schema>.<name> --to start [--apply]
       npm run -s bus:doctor -- republish --relay <schema>.<name> [--apply]
options: --url <http://host:port> --token <token>  use a running host's operator route (make run)
         otherwise DATABASE_URL, and NATS_URL for the stream, the durables and replays
`;

const usage = (msg?: string): never => {
  process.stderr.write(`${msg ? `bus:doctor: ${msg}\n` : ''}${USAGE}`);
  process.exit(2);
};
const fail = (msg: string): never => {
  process.stderr.write(`bus:doctor: ${msg}\n`);
  process.exit(1);
};

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean' },
      apply: { type: 'boolean' },
      'dead-letter': { type: 'string' },
      consumer: { type: 'string' },
      stream: { type: 'string' },
      relay: { type: 'string' },
      to: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      wait: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  usage((err as Error).message);
}
const { values, positionals } = parsed!;
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const COMMANDS = ['report', 'replay', 'discard', 'reset-checkpoint', 'republish'] as const;
type Command = (typeof COMMANDS)[number];
const command = (positionals[0] ?? 'report') as Command;
if (!COMMANDS.includes(command) || positionals.length > 1) usage(`unknown command ${positionals.join(' ')}`);
const dryRun = !values.apply;
const waitMs = values.wait === undefined ? 10_000 : Number(values.wait) * 1000;
if (!Number.isFinite(waitMs) || waitMs < 0 || waitMs > 600_000) usage('--wait takes seconds, at most 600');

// The repair as the operator route takes it; the same checks apply to both ways in.
function repairBody(): Record<string, unknown> {
  const dl = values['dead-letter'];
  switch (command) {
    case 'replay':
      if (dl && (values.consumer || values.stream)) usage('replay takes --dead-letter, or --consumer and --stream, not both');
      if (!dl && !(values.consumer && values.stream)) usage('replay needs --dead-letter <schema>:<id>, or --consumer <name> --stream <source>/<stream id>');
      return dl ? { action: 'replay', deadLetterId: dl, dryRun } : { action: 'replay', consumer: values.consumer, stream: values.stream, dryRun };
    case 'discard':
      if (!dl) usage('discard needs --dead-letter <schema>:<id>');
      return { action: 'discard', deadLetterId: dl, dryRun };
    case 'reset-checkpoint':
    case 'republish':
      if (!values.relay) usage(`${command} needs --relay <schema>.<name> (see the report's relays)`);
      if (command === 'reset-checkpoint' && values.to !== 'start') usage('reset-checkpoint needs --to start (the only position it resets to)');
      return { action: command, relay: values.relay, to: 'start', dryRun };
    default:
      return {};
  }
}

const print = (value: unknown, text: string) => process.stdout.write(values.json ? `${JSON.stringify(value, null, 2)}\n` : text);

async function viaHost(base: string, token: string): Promise<void> {
  const url = new URL(base);
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
  const res =
    command === 'report'
      ? await fetch(new URL('/bus-doctor', url), { headers })
      : await fetch(new URL('/bus-doctor/repairs', url), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(repairBody()) });
  const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
  if (!res.ok) {
    const errors = Array.isArray(body?.errors) ? (body!.errors as Array<{ pointer: string; message: string }>).map((e) => ` ${e.pointer}: ${e.message}`).join(';') : '';
    fail(`${res.status} ${body?.code ?? res.statusText}: ${body?.detail ?? ''}${errors}`);
  }
  if (command === 'report') print(body, doctor.formatReport(body as unknown as doctor.BusReport));
  else print(body, doctor.formatRepair(body as unknown as doctor.RepairResult));
}

async function viaDatabase(): Promise<void> {
  const config = loadHostConfig();
  if (!config.DATABASE_URL) {
    fail('set DATABASE_URL (and NATS_URL) for the distributed services, or give --url http://127.0.0.1:8080 --token <operator token> for make run');
  }
  const body = repairBody();
  const { db } = createPgDb(config.DATABASE_URL!, { max: 2, applicationName: 'trm-bus-doctor', statementTimeoutMs: 120_000 });
  let nats: Awaited<ReturnType<typeof doctor.connectDoctorNats>> | undefined;
  let natsError: string | undefined;
  if (config.NATS_URL) {
    try {
      nats = await doctor.connectDoctorNats({
        servers: config.NATS_URL,
        streamName: config.NATS_STREAM,
        subjectsPrefix: config.NATS_SUBJECT_PREFIX,
        ...(config.NATS_USER ? { user: config.NATS_USER, pass: config.NATS_PASSWORD ?? '' } : {}),
      });
    } catch (err) {
      natsError = `NATS at ${config.NATS_URL}: ${(err as Error).message}`;
    }
  }
  try {
    // Each service's schema is named after it (ServiceModule.schema); the services' code is not loaded.
    const all = ServiceName.options.map((service) => ({ service, schema: service }));
    const services = await doctor.servicesPresent(db, all);
    if (services.length === 0) fail(`the database at DATABASE_URL holds none of the schemas ${all.map((s) => s.schema).join(', ')} (run npm run migrate?)`);
    const skipped = all.filter((s) => !services.includes(s)).map((s) => s.schema);
    if (skipped.length > 0) process.stderr.write(`bus:doctor: not in this database, skipped: ${skipped.join(', ')}\n`);
    const scope: doctor.DoctorScope = { services, subjectsPrefix: config.NATS_SUBJECT_PREFIX };
    if (command === 'report') {
      const r = await doctor.report(db, scope, nats ? { nats: nats.info } : {});
      if (natsError) {
        r.natsError = natsError;
        r.findings.unshift(`NATS could not be read: ${natsError}`);
        r.healthy = false;
      }
      print(r, doctor.formatReport(r));
      return;
    }
    const opts = { dryRun, waitMs, ...(nats ? { redeliver: nats.redeliver, nats: nats.info } : {}) };
    let result: doctor.RepairResult;
    if (body.action === 'replay') {
      result = await doctor.replayDeadLetter(db, scope, body.deadLetterId ? { deadLetter: String(body.deadLetterId) } : { consumer: String(body.consumer), stream: String(body.stream) }, opts);
    } else if (body.action === 'discard') {
      result = await doctor.discardDeadLetter(db, scope, String(body.deadLetterId), opts);
    } else {
      result = await doctor.resetCheckpoint(db, scope, String(body.relay), { dryRun, to: 'start', leaseTtlMs: config.TRM_RELAY_LEASE_MS, waitMs });
    }
    print(result, doctor.formatRepair(result));
  } catch (err) {
    if (err instanceof doctor.DoctorError) fail(`${err.kind === 'not-found' ? 'not found' : err.kind === 'invalid' ? 'invalid' : 'refused'}: ${err.message}${natsError ? ` (${natsError})` : ''}`);
    throw err;
  } finally {
    await nats?.close().catch(() => {});
    await db.destroy();
  }
}

if (values.url) {
  const token = values.token ?? process.env.TRM_TOKEN;
  if (!token) usage('--url needs --token <token> (or TRM_TOKEN): a token of the registry operator\'s operator role');
  await viaHost(values.url, token!);
} else {
  if (values.token) usage('--token goes with --url');
  await viaDatabase();
}
