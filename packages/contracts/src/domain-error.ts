/**
 * A command refused by a decider. Deciders are pure and know nothing of HTTP: the platform maps
 * `kind` to a status (conflict → 409, not_found → 404, invalid → 422, forbidden → 403) and
 * `unmet` to the problem's list of unmet conditions, each a stable code.
 */
export type DomainErrorKind = 'conflict' | 'invalid' | 'not_found' | 'forbidden';

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: string,
    readonly kind: DomainErrorKind,
    message: string,
    readonly unmet: readonly string[] = [],
  ) {
    super(message);
  }
}

/** Gate refusal naming every unmet condition (never just the first). */
export function unmetConditions(code: string, message: string, unmet: readonly string[]): DomainError {
  return new DomainError(code, 'conflict', message, unmet);
}
