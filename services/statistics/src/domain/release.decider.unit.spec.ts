import { describe, it } from 'vitest';
import { deciderSpec } from '@trm/testing';
import { figureById } from './figures.js';
import { type ReleaseCommand, createReleaseDecider } from './release.decider.js';

const figure = figureById('victims-notified')!;
const metadata = { now: new Date('2027-01-10T00:00:00Z') };
const spec = deciderSpec(createReleaseDecider({ k: 10 }));
const release = (data: Partial<ReleaseCommand['data']>): ReleaseCommand => ({
  type: 'ReleaseFigure',
  data: { figure, year: 2026, groupBy: [], filters: {}, population: 57, ...data },
  metadata,
});

describe('ReleaseFigure', () => {
  it('releases a slice of a table of at most two dimensions when the population reaches k', () => {
    spec.given([]).when(release({ groupBy: ['ageBand'], filters: { sex: 'female' }, population: 10 })).then([
      { type: 'FigureReleased', data: { figure: 'victims-notified', year: 2026, dimensions: ['sex', 'ageBand'], population: 10 } },
    ]);
  });

  it('refuses a query whose filters narrow to fewer than k cases (k from policy), zero included', () => {
    spec.given([]).when(release({ filters: { sex: 'male' }, population: 9 })).thenRefuses('query-too-narrow', ['population-below-k']);
    spec.given([]).when(release({ filters: { sex: 'male' }, population: 0 })).thenRefuses('query-too-narrow', ['population-below-k']);
    deciderSpec(createReleaseDecider({ k: 3 }))
      .given([])
      .when(release({ filters: { sex: 'male' }, population: 3 }))
      .then([{ type: 'FigureReleased', data: { figure: 'victims-notified', year: 2026, dimensions: ['sex'], population: 3 } }]);
  });

  it('names every structural problem at once', () => {
    spec
      .given([])
      .when(release({ groupBy: ['sex', 'sex', 'service'], filters: { citizenship: 'XX', sex: 'female' } }))
      .thenRefuses('invalid-statistics-query', ['too-many-dimensions', 'dimension-repeated', 'dimension-not-available', 'unknown-category']);
  });
});
