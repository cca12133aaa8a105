export const LEDGER_SCHEMA = 'ledger';
export const LEDGER_SERVICE = 'ledger' as const;
/** Durable consumer name: the inbox key and JetStream durable; never rename. */
export const LEDGER_CONSUMER = 'ledger-all-events';
