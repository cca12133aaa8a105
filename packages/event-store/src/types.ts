import type { Kysely, Transaction } from 'kysely';

/** A Kysely handle or an open transaction: store functions run inside the caller's transaction. */
export type DbOrTx = Kysely<any> | Transaction<any>;

/** Who did it and why; every event carries it. Never personal data. */
export interface EventMetadata {
  /** Subject of the token that issued the command (a pseudonymous user id), or `system:<component>`. */
  actor: string;
  /** Organisation id of the actor. */
  organisation: string;
  correlationId: string;
  causationId: string | null;
  requestId: string | null;
}

export interface NewEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  /** Defaults to 1. Old versions are upcast on read, never rewritten. */
  schemaVersion?: number;
}

export interface RecordedEvent<Type extends string = string, Data = unknown> {
  /** bigint as a decimal string (pg returns int8 as string; we keep it so on purpose). */
  globalPosition: string;
  /** xid8 of the appending transaction, as a decimal string. */
  transactionId: string;
  streamId: string;
  /** 1 for the first event of a stream. */
  streamVersion: number;
  /** UUIDv7. */
  eventId: string;
  type: Type;
  schemaVersion: number;
  data: Data;
  metadata: EventMetadata;
  /** ISO 8601 with milliseconds, UTC. */
  recordedAt: string;
  /** hex SHA-256 of the previous event of the stream; null for version 1. */
  prevHash: string | null;
  /** hex SHA-256(prevHash bytes ‖ canonical bytes of this event). */
  hash: string;
}

/**
 * An event as a replay folds it: what it says and where it stands in the global order, without
 * its metadata and hashes (a projection does not read them; the relay and the auditors do).
 */
export type ReplayedEvent<Type extends string = string, Data = unknown> = Omit<RecordedEvent<Type, Data>, 'metadata' | 'prevHash' | 'hash'>;

/**
 * `no_stream`: the stream must not exist yet. `any`: no check. A number: the stream's current
 * version must equal it (0 means the stream must not exist).
 */
export type ExpectedVersion = 'no_stream' | 'any' | number;

/** Position in the global order: compare (transactionId, globalPosition) lexicographically. */
export interface GlobalCheckpoint {
  transactionId: string;
  globalPosition: string;
}

export const START_OF_LOG: GlobalCheckpoint = { transactionId: '0', globalPosition: '0' };

export interface AppendResult {
  /** Stream version after the append. */
  nextVersion: number;
  events: RecordedEvent[];
}
