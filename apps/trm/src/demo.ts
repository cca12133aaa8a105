/** Types of the demo organisations seeded on an empty registry (for `npm run token`). */
export const DEMO_ORGANISATION_TYPES: Record<string, string> = {
  anitp: 'national_contact_point',
  'anitp-rc-bucharest': 'national_contact_point',
  'consulate-ro-it': 'consulate',
  'ngo-it': 'ngo',
  'iom-it': 'international_organisation',
  'police-it': 'law_enforcement',
  'dgaspc-bucharest': 'child_protection',
  'provider-shelter': 'service_provider',
  'auditor-ro': 'auditor',
  'stats-ro': 'statistics_consumer',
};
