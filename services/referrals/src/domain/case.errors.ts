import { DomainError, type DomainErrorKind, type InformationItem } from '@trm/contracts';

/**
 * A refusal that concerns named items of the person's data (never their values): the HTTP layer
 * answers with a JSON pointer per item (`/person/<item>`) besides the unmet conditions.
 */
export class InformationItemsRefused extends DomainError {
  constructor(
    code: string,
    kind: DomainErrorKind,
    message: string,
    unmet: readonly string[],
    readonly items: readonly InformationItem[],
    /** Machine-readable reason per item, as in validation errors (`not_requested`…). */
    readonly itemCode: string,
  ) {
    super(code, kind, message, unmet);
  }
}
