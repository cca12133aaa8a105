/**
 * Whether an error says the database (or the network to it) is unavailable right now, as opposed to
 * a handler that refuses this message. A transient failure is retried for as long as it lasts and
 * never dead-letters a message: an outage of any length must not turn good events into dead
 * letters. Anything else is the message's own fault and counts towards `maxDeliver`.
 */
export function isTransientFailure(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  // SQLSTATE classes: 08 connection exception, 53 insufficient resources, 57P0x shutdown/crash,
  // 57014 cancelled (statement timeout), 40001/40P01 serialisation failure and deadlock, 55P03 lock
  // not available, 58 system error, XX000 internal error during a failover.
  if (/^(08|53|58)/.test(code) || /^57P0/.test(code) || code === '57014' || code === '40001' || code === '40P01' || code === '55P03') return true;
  // Socket errors from node (pg surfaces them unchanged).
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND'].includes(code)) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|terminating connection|the database system is (starting up|shutting down|in recovery mode)|Cannot use a pool after calling end|pool is draining|no pg connection available/i.test(
    message,
  );
}
