import { randomUUID } from 'node:crypto';
import { type Bus, type Relay, eventSubject, toEnvelope } from '@trm/bus';
import type { ServiceName } from '@trm/contracts';
import { type Db, migrate } from '@trm/db';
import { createEventStore } from '@trm/event-store';
import { sql } from 'kysely';

/**
 * What another service would record: the event is appended to that service's own events table
 * (consumers read events from their source, never trust a message alone), then published as its
 * relay would. Used where a test stands in for a service that is not part of the stack.
 */
export async function appendSourceEvent(
  db: Db,
  bus: Bus,
  opts: {
    service: ServiceName;
    streamId: string;
    type: string;
    data: Record<string, unknown>;
    organisation?: string;
    actor?: string;
    now?: Date;
    /** The event's schema version as its producer records it (default: the store's, 1). */
    schemaVersion?: number;
    /** The relays of the stack: when one publishes this service's schema it is woken instead. */
    relays?: readonly Relay[];
  },
): Promise<string> {
  const schema = opts.service;
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = ${schema} and table_name = 'events'`.execute(db);
  if (rows[0]!.n === 0) await migrate(db, { schema, service: opts.service });
  const store = createEventStore({ schema });
  const correlationId = randomUUID();
  const { events } = await store.append(db, opts.streamId, [{ type: opts.type, data: opts.data, ...(opts.schemaVersion !== undefined ? { schemaVersion: opts.schemaVersion } : {}) }], {
    expectedVersion: 'any',
    metadata: { actor: opts.actor ?? 'test', organisation: opts.organisation ?? 'anitp', correlationId, causationId: null, requestId: null },
    ...(opts.now ? { now: opts.now } : {}),
  });
  const recorded = events[0]!;
  // The stack's relay for this schema publishes it; with none, publish it the way a relay does.
  const envelope = toEnvelope(opts.service, recorded);
  await bus.publish({ subject: eventSubject(bus.subjectsPrefix, opts.service, opts.type), msgId: recorded.eventId, data: new TextEncoder().encode(JSON.stringify(envelope)) });
  for (const r of opts.relays ?? []) r.wake();
  return recorded.eventId;
}
