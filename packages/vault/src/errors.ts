/**
 * A ciphertext or wrapped key failed to authenticate: tampered, moved to another subject or
 * field, or the master key is wrong or missing. The message names neither data nor keys, so the
 * error is safe to log; `subjectId` is the pseudonymous case id.
 */
export class VaultIntegrityError extends Error {
  override readonly name = 'VaultIntegrityError';
  readonly code = 'vault_integrity';

  constructor(
    readonly subjectId: string,
    readonly field?: string,
    /** Why, when it names no data: an unknown master key id is a configuration mistake to spot fast. */
    detail?: string,
  ) {
    super(
      (field === undefined ? 'The data key of a vault subject could not be unwrapped' : `Vault field "${field}" could not be decrypted`) +
        (detail === undefined ? '' : `: ${detail}`),
    );
  }
}

/** Erasure is final: writing for an erased subject would bring back data the subject had removed. */
export class VaultSubjectErasedError extends Error {
  override readonly name = 'VaultSubjectErasedError';
  readonly code = 'vault_subject_erased';

  constructor(readonly subjectId: string) {
    super('The vault subject has been erased');
  }
}
