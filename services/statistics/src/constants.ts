export const STATISTICS_SCHEMA = 'statistics';
/** Durable consumer name and inbox key: keep it stable, the rebuild rewrites its inbox rows. */
export const FACTS_CONSUMER = 'statistics-facts';
/** Services whose events table the rebuild replays (schema = service name). */
export const SOURCE_SERVICES = ['referrals', 'repatriation', 'proceedings'] as const;
