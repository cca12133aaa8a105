import type { EventEnvelope } from '@trm/contracts';
import type { Evolver } from '@trm/event-store';
import { createCaseDecider } from '@trm/referrals';

/**
 * Aggregates whose state the ledger can rebuild, with the owning service's own evolve function
 * (imported from its package, never copied: a copy would drift and replay a different history).
 * A case's aggregate lives on the stream `<streamPrefix><caseId>` of its service. Services add
 * their deciders here as they land.
 */
export interface AggregateKind {
  service: string;
  aggregate: string;
  streamPrefix: string;
  // Replay feeds stored events of this stream only; their types are the decider's own.
  evolver: Evolver<never, unknown>;
}

export const AGGREGATES: readonly AggregateKind[] = [
  { service: 'referrals', aggregate: 'case', streamPrefix: 'case-', evolver: createCaseDecider() as unknown as Evolver<never, unknown> },
];

export type ReplayResult =
  | { complete: true; version: number; state: unknown; lastIndex: number | null }
  | { complete: false; version: number; state: unknown; lastIndex: number | null; missingVersion: number };

/**
 * Folds a stream's events (in stream order) with the owner's evolve. A version missing from the
 * ledger stops the fold there and says so, rather than rebuild a state the service never had.
 */
export function replay(kind: AggregateKind, entries: ReadonlyArray<{ index: number; event: EventEnvelope }>): ReplayResult {
  let state = kind.evolver.initialState();
  let version = 0;
  let lastIndex: number | null = null;
  for (const { index, event } of [...entries].sort((a, b) => a.event.streamVersion - b.event.streamVersion)) {
    if (event.streamVersion !== version + 1) return { complete: false, version, state, lastIndex, missingVersion: version + 1 };
    state = kind.evolver.evolve(state, event as never);
    version = event.streamVersion;
    lastIndex = lastIndex === null ? index : Math.max(lastIndex, index);
  }
  return { complete: true, version, state, lastIndex };
}
