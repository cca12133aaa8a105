import type { EventEnvelope, ServiceName } from '@trm/contracts';
import { type EventStore, type StreamRange, createEventStore } from '@trm/event-store';
import type { Kysely } from 'kysely';
import { toEnvelope } from './relay.js';

/**
 * Where a consumer reads the committed events of its source services: the system of record, not
 * the bus. A consumer that is told of version v of a stream applies what the source holds up to v,
 * in version order, so retries, redeliveries and replicas cannot reorder a stream, a gap left by a
 * lost message is filled, and a message that claims an event the source does not hold changes
 * nothing (a forged or replayed-from-elsewhere envelope).
 */
export interface EventSource {
  /** Committed events of `service`, for each range versions after < v <= upTo, in (stream, version) order. */
  read(db: Kysely<any>, service: ServiceName, ranges: ReadonlyArray<StreamRange>): Promise<EventEnvelope[]>;
}

/**
 * The source services' own `events` tables in the same database (one PostgreSQL cluster, the
 * default deployment; PGlite in embedded mode). A deployment that splits databases per service
 * gives each consuming service a role with SELECT on its sources' `events` tables, or plugs in an
 * EventSource that reads them through the source service.
 */
export function sameDatabaseSource(schemaOf: (service: ServiceName) => string = (service) => service): EventSource {
  const stores = new Map<string, EventStore>();
  return {
    async read(db, service, ranges) {
      const schema = schemaOf(service);
      let store = stores.get(schema);
      if (!store) {
        store = createEventStore({ schema });
        stores.set(schema, store);
      }
      const events = await store.readStreamRanges(db, ranges);
      return events.map((e) => toEnvelope(service, e));
    },
  };
}
