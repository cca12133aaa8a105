import type { RecordedEvent } from './types.js';

/** An event as a decider produces it: a member of a `{ type, data }` discriminated union. */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  /** Defaults to 1 when appended. */
  schemaVersion?: number;
}

/**
 * What `evolve` receives: the event itself, plus where and when it was recorded when it comes from
 * the store. The extras are optional so given/when/then tests can fold plain `{ type, data }`.
 */
export type EvolveEvent<Event extends DomainEvent> = Event & Partial<Omit<RecordedEvent, 'type' | 'data'>>;

/** Distributes over a union, so a recorded event still narrows on `type`. */
export type RecordedOf<Event extends DomainEvent> = Event extends DomainEvent<infer Type, infer Data> ? RecordedEvent<Type, Data> : never;

/**
 * An aggregate as three pure functions (Emmett's Decider). No I/O, no clock: time and identity
 * arrive in the command. `decide` throws a domain error to refuse a command.
 */
export interface Decider<Command, Event extends DomainEvent, State> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: EvolveEvent<Event>): State;
  initialState(): State;
}

/** Enough of a decider to rebuild state. */
export type Evolver<Event extends DomainEvent, State> = Pick<Decider<never, Event, State>, 'evolve' | 'initialState'>;
