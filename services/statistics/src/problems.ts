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
    'no-release-yet': { status: 503, title: 'No statistics release yet', description: 'Figures are published from releases only; the first is made at start-up. Try again shortly.' },
    'year-not-released': { status: 404, title: 'Year not in the release', description: 'The latest release holds no facts of that year.' },
    'release-not-for-this-organisation': {
      status: 403,
      title: 'Releases on demand are for the central contact point',
      description: 'Only the central national contact point of the home country (policy TRM_STATS_HOME_COUNTRY) makes releases on demand; regional centres and foreign contact points cannot.',
    },
    'release-limit-reached': {
      status: 429,
      title: 'Too many releases on demand',
      description: 'At most TRM_STATS_RELEASES_PER_DAY on-demand releases in any 24 hours: differences between close releases would describe the few cases between them.',
    },
    'unknown-figure': { status: 404, title: 'Unknown figure', description: 'GET /v1/statistics/figures lists the published figures.' },
    'unknown-annual-table': { status: 404, title: 'Unknown annual table', description: 'GET /v1/statistics/annual/{year} lists the annual tables.' },
  });
}
