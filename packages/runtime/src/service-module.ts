import type { Bus, EventSource, Subscription } from '@trm/bus';
import type { ServiceName } from '@trm/contracts';
import type { Db } from '@trm/db';
import type { EventStore } from '@trm/event-store';
import type { App, OrgDirectory } from '@trm/platform';
import type { Registry } from 'prom-client';

/** What a host (embedded or distributed) gives every service it runs. */
export interface ServiceHost {
  mode: 'embedded' | 'distributed';
  app: App;
  db: Db;
  bus: Bus;
  orgs: OrgDirectory;
  metrics: Registry;
  /** Vault master keys (`id:base64,…`, first current); empty for a service that keeps no vault. */
  masterKeys: string;
  /** The process environment, for each service's own policy settings (validated by the service). */
  env: NodeJS.ProcessEnv;
  clock(): Date;
  /** The service's event store (its schema), wired to wake the relay after its own commits. */
  store: EventStore;
  /** Call after a transaction that appended events committed: wakes the relay at once. */
  committed(): void;
  /** Where consumers read the events of other services (pass it to startConsumer as `source`). */
  source: EventSource;
}

export interface MountedService {
  /** Durable consumers started by the service (stopped before the bus closes). */
  consumers?: Subscription[];
  /** Timers, schedulers…: stopped in preClose, before consumers and relays. */
  stop?(): Promise<void>;
}

/**
 * A TRM service as a unit the hosts know how to run: its schema (migrated at start), its routes
 * and consumers (mounted on the host's app and bus), and nothing else. The host starts the relay
 * that publishes the schema's events after every service is mounted (the in-process bus delivers
 * only to consumers that exist when it publishes).
 */
export interface ServiceModule {
  name: ServiceName;
  /** The service's own schema, holding its events, inbox, vault, read models. */
  schema: string;
  /** Default port in distributed mode. */
  defaultPort: number;
  /** Keeps personal data in a vault: only such a service is given the master keys (TRM_MASTER_KEYS). */
  keepsVault?: boolean;
  mount(host: ServiceHost): Promise<MountedService>;
}
