import { expect } from 'vitest';

interface DeciderLike<C, E, S> {
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
  initialState(): S;
}

/**
 * Given/when/then for deciders (Emmett's DeciderSpecification, trimmed): the past as events,
 * one command, and either the events it must produce or the refusal it must raise.
 */
export function deciderSpec<C, E, S>(decider: DeciderLike<C, E, S>) {
  return {
    given(past: E[]) {
      const state = past.reduce(decider.evolve, decider.initialState());
      return {
        when(command: C) {
          const run = () => decider.decide(command, state);
          return {
            then(expected: E[]) {
              expect(run()).toEqual(expected);
            },
            thenMatches(check: (events: E[]) => void) {
              check(run());
            },
            thenRefuses(code: string, unmet?: string[]) {
              let error: unknown;
              try {
                run();
              } catch (err) {
                error = err;
              }
              expect(error, 'the command should have been refused').toBeDefined();
              expect((error as { code?: string }).code).toBe(code);
              if (unmet) expect([...((error as { unmet?: string[] }).unmet ?? [])].sort()).toEqual([...unmet].sort());
            },
          };
        },
      };
    },
  };
}
