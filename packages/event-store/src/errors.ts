import type { ExpectedVersion } from './types.js';

/**
 * The stream was not at the version the writer expected: another writer got there first, or the
 * client's If-Match is stale. HTTP maps it to 409 (or 412 for If-Match); the caller may reload and
 * retry.
 */
export class ConcurrencyError extends Error {
  override readonly name = 'ConcurrencyError';
  readonly code = 'concurrency_conflict' as const;

  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    /**
     * The stream's version when the conflict was seen. null when it could not be read: a
     * concurrent insert aborted the caller's own transaction, so nothing more can be asked in it.
     */
    readonly actual: number | null,
  ) {
    super(`Stream ${streamId}: expected version ${String(expected)}, found ${actual === null ? 'a newer version' : String(actual)}`);
  }
}

export function isConcurrencyError(err: unknown): err is ConcurrencyError {
  return err instanceof ConcurrencyError;
}
