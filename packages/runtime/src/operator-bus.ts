import { type Bus, type ConsumerSubscription, type Subscription, doctor } from '@trm/bus';
import { ServiceName } from '@trm/contracts';
import type { Db } from '@trm/db';
import { type App, ProblemError, notFound, registerProblemCodes } from '@trm/platform';
import { z } from 'zod';

/**
 * The bus doctor of a running host (`GET /bus-doctor`, `POST /bus-doctor/repairs`): what
 * `npm run -s bus:doctor -- --url …` talks to, and the only way to reach the bus doctor on `make
 * run`, whose PGlite database admits one process. Like `/metrics`, an operator's endpoint beside
 * the partners' `/v1` API, for the registry operator's `operator` role only.
 */

registerProblemCodes({
  'bus-repair-refused': {
    status: 409,
    title: 'Bus repair refused',
    description:
      'The repair cannot be done in the current state (the dead letter is resolved, waits behind another one, is not an event its source holds, or the events cannot be delivered again). The detail says what to do instead; nothing was changed.',
  },
});

/**
 * The bus a module mounts its consumers on, recording each durable's name and filter: the doctor
 * needs the filter to tell what a consumer lacks from what it never takes. Everything else goes
 * to the host's bus unchanged.
 */
export function observeConsumers(bus: Bus, schema: string, into: doctor.DoctorConsumer[]): Bus {
  return new Proxy(bus, {
    get(target, prop) {
      if (prop === 'consume') {
        const consume: Bus['consume'] = (options, handler) => {
          const i = into.findIndex((c) => c.schema === schema && c.name === options.durable);
          const spec = { schema, name: options.durable, filterSubject: options.filterSubject };
          if (i >= 0) into[i] = spec;
          else into.push(spec);
          return target.consume(options, handler);
        };
        return consume;
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const OPERATOR = { access: { roles: ['operator'], registryOperator: true } } as const;

const DeadLetterView = z.object({
  id: z.string().describe('`<schema>:<id>`: what the repairs take'),
  consumer: z.string(),
  eventId: z.string().nullable(),
  subject: z.string(),
  type: z.string().nullable(),
  source: z.string().nullable(),
  streamId: z.string().nullable(),
  version: z.number().int().nullable(),
  error: z.string(),
  deliveries: z.number().int(),
  deadAt: z.string(),
  blocksStream: z.boolean().describe('later versions of its stream wait behind it for this consumer'),
  waitsBehind: z.string().nullable().describe('the lower dead letter of the same stream it waits behind'),
});
const LagView = z.object({
  source: z.string(),
  events: z.number().int().describe('events of the source the consumer takes and has not applied'),
  streams: z.number().int(),
  capped: z.boolean(),
  oldestAt: z.string().nullable(),
  blockedStreams: z.number().int(),
  inFlightStreams: z.number().int(),
  gapStreams: z.number().int(),
});
const GapView = z.object({
  source: z.string(),
  streamId: z.string(),
  applied: z.number().int(),
  firstMissing: z.number().int(),
  lastMissing: z.number().int(),
  events: z.number().int(),
  oldestAt: z.string(),
});
const DurableView = z.object({
  name: z.string(),
  filterSubject: z.string().nullable(),
  numPending: z.number().int(),
  numAckPending: z.number().int(),
  numRedelivered: z.number().int(),
  deliveredSeq: z.number().int(),
  ackFloorSeq: z.number().int(),
  maxDeliver: z.number().int(),
});
const BusReport = z
  .object({
    generatedAt: z.string(),
    healthy: z.boolean(),
    findings: z.array(z.string()),
    consumers: z.array(
      z.object({
        schema: z.string(),
        name: z.string(),
        filterSubject: z.string().nullable(),
        filterKnown: z.boolean(),
        inbox: z.number().int(),
        streamsTracked: z.number().int(),
        deadLetters: z.object({ open: z.number().int(), resolved: z.number().int(), items: z.array(DeadLetterView) }),
        lag: z.array(LagView),
        gaps: z.array(GapView),
        pending: z.number().int().nullable(),
        durable: DurableView.nullable(),
      }),
    ),
    relays: z.array(
      z.object({
        relay: z.string().describe('`<schema>.<name>`: what reset-checkpoint takes'),
        schema: z.string(),
        name: z.string(),
        checkpoint: z
          .object({ transactionId: z.string(), globalPosition: z.string(), updatedAt: z.string(), streamCreated: z.string().nullable(), streamSeq: z.number().int().nullable() })
          .nullable(),
        newest: z.object({ transactionId: z.string(), globalPosition: z.string(), recordedAt: z.string() }).nullable(),
        eventsBehind: z.number().int(),
        capped: z.boolean(),
        oldestUnpublishedAt: z.string().nullable(),
        lease: z.object({ holder: z.string(), expiresAt: z.string(), acquiredAt: z.string(), expired: z.boolean() }).nullable(),
      }),
    ),
    stream: z
      .object({
        name: z.string(),
        created: z.string(),
        firstSeq: z.number().int(),
        lastSeq: z.number().int(),
        messages: z.number().int(),
        bytes: z.number().int(),
        maxAgeMs: z.number(),
        duplicateWindowMs: z.number(),
      })
      .nullable(),
    otherDurables: z.array(DurableView),
    natsError: z.string().nullable(),
  })
  .describe('Consumers (inbox, stream positions, open dead letters, lag per source, gaps), relays (checkpoint, events behind, lease) and, on JetStream, the stream and durables.');

const RepairResult = z.object({
  action: z.enum(['replay', 'discard', 'reset-checkpoint']),
  dryRun: z.boolean(),
  changed: z.boolean().describe('false in a dry run: nothing was written'),
  summary: z.string(),
  changes: z.array(z.string()).describe('what was, or in a dry run would be, changed'),
  outcome: z
    .object({ state: z.enum(['applied', 'dead-lettered', 'pending', 'republishing', 'done']), appliedVersion: z.number().int().nullable(), detail: z.string() })
    .nullable(),
});

const DEAD_LETTER_ID = /^(?:[a-z_][a-z0-9_]*:)?[1-9][0-9]{0,17}$/;
const CONSUMER = /^[A-Za-z0-9_-]{1,100}$/;
const STREAM = /^[a-z_][a-z0-9_]*\/[A-Za-z0-9_.:-]{1,200}$/;
const RELAY = /^[a-z_][a-z0-9_]*\.[A-Za-z0-9_-]{1,100}$/;

const RepairBody = z
  .strictObject({
    action: z
      .enum(['replay', 'discard', 'reset-checkpoint', 'republish'])
      .describe(
        '`replay` a dead letter (`deadLetterId`) or a gap (`consumer` + `stream`); `discard` a dead letter; `reset-checkpoint` (or its alias `republish`) a `relay` to the start of its log',
      ),
    deadLetterId: z.string().regex(DEAD_LETTER_ID).optional().describe('`<schema>:<id>` from the report'),
    consumer: z.string().regex(CONSUMER).optional().describe('replay of a gap: the consumer'),
    stream: z.string().regex(STREAM).optional().describe('replay of a gap: `<source>/<stream id>`'),
    relay: z.string().regex(RELAY).optional().describe('`<schema>.<name>` from the report'),
    to: z.enum(['start']).optional().describe('reset-checkpoint: where to (the start of the log)'),
    dryRun: z.boolean().default(true).describe('true (default): say what would change and change nothing'),
  })
  .meta({ examples: [{ action: 'replay', deadLetterId: 'repatriation:1', dryRun: true }] });

type RepairBody = z.infer<typeof RepairBody>;

const USES: Record<RepairBody['action'], ReadonlyArray<keyof RepairBody>> = {
  replay: ['deadLetterId', 'consumer', 'stream'],
  discard: ['deadLetterId'],
  'reset-checkpoint': ['relay', 'to'],
  republish: ['relay', 'to'],
};

const POINTER: Record<string, string> = { deadLetter: '/deadLetterId', relay: '/relay', stream: '/stream', consumer: '/consumer', to: '/to' };

function invalid(pointer: string, message: string): ProblemError {
  return new ProblemError(400, 'validation-failed', 'One or more fields are invalid.', { errors: [{ pointer, in: 'body', code: 'invalid_value', message }] });
}

/** Refuses a body whose fields do not fit its action, before anything is read or written. */
function checkBody(b: RepairBody): void {
  for (const field of ['deadLetterId', 'consumer', 'stream', 'relay', 'to'] as const) {
    if (b[field] !== undefined && !USES[b.action].includes(field)) throw invalid(`/${field}`, `Not used by action ${b.action}.`);
  }
  if (b.action === 'replay') {
    if (b.deadLetterId === undefined && (b.consumer === undefined || b.stream === undefined)) throw invalid('/deadLetterId', 'Give deadLetterId, or consumer and stream.');
    if (b.deadLetterId !== undefined && (b.consumer !== undefined || b.stream !== undefined)) throw invalid('/consumer', 'Give deadLetterId, or consumer and stream, not both.');
  }
  if (b.action === 'discard' && b.deadLetterId === undefined) throw invalid('/deadLetterId', 'Required by action discard.');
  if ((b.action === 'reset-checkpoint' || b.action === 'republish') && b.relay === undefined) throw invalid('/relay', `Required by action ${b.action}.`);
}

function toProblem(err: unknown): unknown {
  if (!(err instanceof doctor.DoctorError)) return err;
  if (err.kind === 'not-found') return notFound(err.message.replace(/^no /, ''));
  if (err.kind === 'invalid') return invalid(POINTER[err.field ?? ''] ?? '', err.message);
  return new ProblemError(409, 'bus-repair-refused', err.message);
}

export interface OperatorBusOptions {
  db: Db;
  bus: Bus;
  /** This host's services (every other service schema found in the database is included too). */
  services: readonly doctor.DoctorService[];
  /** Filled as modules mount their consumers (observeConsumers). */
  consumers: readonly doctor.DoctorConsumer[];
  /** The host's consumer subscriptions: their pending counts on a bus without stream information. */
  subscriptions: () => readonly Subscription[];
  /** The relays' lease (TRM_RELAY_LEASE_MS). */
  relayLeaseMs: number;
}

export function registerOperatorBusRoutes(app: App, opts: OperatorBusOptions): void {
  // Every service schema in this database, not only this host's: a consumer reads its sources'
  // events tables (sameDatabaseSource), and a distributed host sees the whole bus from there.
  const scope = async (): Promise<doctor.DoctorScope> => {
    const all = new Map(opts.services.map((s) => [s.service, s]));
    for (const name of ServiceName.options) if (!all.has(name)) all.set(name, { service: name, schema: name });
    return { services: await doctor.servicesPresent(opts.db, [...all.values()]), consumers: [...opts.consumers], subjectsPrefix: opts.bus.subjectsPrefix };
  };
  let info: Promise<doctor.BusInfo | undefined> | undefined;
  const redeliver = doctor.redelivererFor(opts.bus);

  app.get(
    '/bus-doctor',
    {
      config: OPERATOR,
      schema: {
        tags: ['operator'],
        summary: 'Bus doctor report',
        description:
          'Per consumer: inbox rows, streams tracked, open dead letters (which block their stream), lag per source (events its filter takes not yet applied) and gaps (behind with nothing pending); per relay: checkpoint, events not yet published and lease; the JetStream stream and durables when the host runs on JetStream. Reads only. The registry operator\'s `operator` role.',
        response: { 200: BusReport },
      },
    },
    async () => {
      info ??= doctor.busInfoFor(opts.bus);
      const nats = await info;
      const pendingOf = async (name: string) => {
        const sub = opts.subscriptions().find((s) => (s as Partial<ConsumerSubscription>).health?.().consumer === name);
        return sub?.pending();
      };
      return doctor.report(opts.db, await scope(), { ...(nats ? { nats } : {}), pendingOf });
    },
  );

  app.post(
    '/bus-doctor/repairs',
    {
      config: OPERATOR,
      schema: {
        tags: ['operator'],
        summary: 'Repair the bus: replay or discard a dead letter, reset a relay checkpoint',
        description:
          'A dry run unless `dryRun` is false: the answer lists what would change. `replay` resolves the open dead letters of the stream and delivers their events again, so the running consumer applies what its source holds, in version order; `discard` resolves the dead letter, moves the consumer past its version and replays the later versions that waited behind it; `reset-checkpoint` (`republish`) makes the relay publish its whole log again (consumers drop what they applied). 409 `bus-repair-refused` when the state does not allow it, 404 for an unknown dead letter or relay. The registry operator\'s `operator` role.',
        body: RepairBody,
        response: { 200: RepairResult },
      },
    },
    async (request) => {
      const b = request.body;
      checkBody(b);
      const dryRun = b.dryRun;
      try {
        switch (b.action) {
          case 'replay':
            return await doctor.replayDeadLetter(opts.db, await scope(), b.deadLetterId !== undefined ? { deadLetter: b.deadLetterId } : { consumer: b.consumer!, stream: b.stream! }, { dryRun, redeliver });
          case 'discard':
            return await doctor.discardDeadLetter(opts.db, await scope(), b.deadLetterId!, { dryRun, redeliver });
          case 'reset-checkpoint':
          case 'republish':
            return await doctor.resetCheckpoint(opts.db, await scope(), b.relay!, { dryRun, to: 'start', leaseTtlMs: opts.relayLeaseMs });
        }
      } catch (err) {
        throw toProblem(err);
      }
    },
  );
}
