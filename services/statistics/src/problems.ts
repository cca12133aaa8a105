import { registerProblemCodes } from '@trm/platform';

export function registerStatisticsProblems(): void {
  registerProblemCodes({
    'invalid-statistics-query': {
      status: 422,
      title: 'Query outside the published figures',
      description:
        'A figure publishes slices of tables of at most two dimensions from its own list. `unmet` lists every problem: too-many-dimensions, dimension-not-available, dimension-repeated, unknown-category.',
    },
    'query-too-narrow': {
      status: 409,
      title: 'Query narrows to too few cases',
      description: 'The filters select fewer cases than the publication threshold k (policy, 10 by default). `unmet`: population-below-k.',
    },
    'statistics-not-for-this-organisation': {
      status: 403,
      title: 'Statistics are for statistics consumers and national contact points',
      description: 'Only organisations of type statistics_consumer or national_contact_point read statistics.',
    },
    'unknown-figure': { status: 404, title: 'Unknown figure', description: 'GET /v1/statistics/figures lists the published figures.' },
    'unknown-annual-table': { status: 404, title: 'Unknown annual table', description: 'GET /v1/statistics/annual/{year} lists the annual tables.' },
  });
}
