import { DomainError } from '@trm/contracts';
import type { Decider } from '@trm/event-store';
import { DIMENSIONS, type DimensionId, type FigureDef } from './figures.js';

/**
 * The gate every statistics query passes before anything is computed for the caller: the query
 * must stay within the figure's catalogue (at most two dimensions, so it is a slice of one
 * protected table) and its filters must not narrow the population below k cases (policy).
 * Pure: the population is counted by the caller and arrives in the command.
 */

export interface ReleasePolicy {
  /** Smallest number of cases a cell or a filtered population may show (DOMAIN: 10). */
  k: number;
}

export type ReleaseCommand = {
  type: 'ReleaseFigure';
  data: {
    figure: FigureDef;
    year: number;
    groupBy: readonly string[];
    filters: Record<string, string>;
    /** Distinct cases matching the filters in the year. */
    population: number;
  };
  metadata: { now: Date };
};

export type ReleaseEvent = {
  type: 'FigureReleased';
  data: { figure: string; year: number; dimensions: string[]; population: number };
};

export type ReleaseState = null;

export const RELEASE_UNMET = {
  tooManyDimensions: 'too-many-dimensions',
  dimensionNotAvailable: 'dimension-not-available',
  dimensionRepeated: 'dimension-repeated',
  unknownCategory: 'unknown-category',
  populationBelowK: 'population-below-k',
} as const;

export function createReleaseDecider(policy: ReleasePolicy): Decider<ReleaseCommand, ReleaseEvent, ReleaseState> {
  return {
    initialState: () => null,
    evolve: (state) => state,
    decide(command) {
      switch (command.type) {
        case 'ReleaseFigure': {
          const { figure, groupBy, filters, population, year } = command.data;
          const unmet = new Set<string>();
          const filterDims = Object.keys(filters);
          const all = [...filterDims, ...groupBy];
          if (new Set(all).size > 2) unmet.add(RELEASE_UNMET.tooManyDimensions);
          if (new Set(groupBy).size !== groupBy.length || groupBy.some((d) => filterDims.includes(d))) unmet.add(RELEASE_UNMET.dimensionRepeated);
          for (const d of all) if (!(figure.dims as readonly string[]).includes(d)) unmet.add(RELEASE_UNMET.dimensionNotAvailable);
          for (const [d, v] of Object.entries(filters)) {
            const dim = DIMENSIONS[d as DimensionId];
            if (dim && !dim.value.safeParse(v).success) unmet.add(RELEASE_UNMET.unknownCategory);
          }
          if (unmet.size > 0) {
            throw new DomainError('invalid-statistics-query', 'invalid', 'The query is outside what this figure publishes.', [...unmet].sort());
          }
          // Zero counts as narrow too: a refusal must not tell "nobody" apart from "a few".
          if (population < policy.k) {
            throw new DomainError('query-too-narrow', 'conflict', 'The filters select too few cases to publish anything about them.', [
              RELEASE_UNMET.populationBelowK,
            ]);
          }
          return [{ type: 'FigureReleased', data: { figure: figure.id, year, dimensions: all, population } }];
        }
        default: {
          const unreachable: never = command.type;
          throw new Error(`unknown command ${String(unreachable)}`);
        }
      }
    },
  };
}
