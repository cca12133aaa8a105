import { randomBytes } from 'node:crypto';

export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

/** The first key wraps new and rotated data keys; every key can still unwrap what it wrapped. */
export interface MasterKeyRing {
  readonly current: MasterKey;
  readonly byId: ReadonlyMap<string, MasterKey>;
}

const KEY_ID = /^[a-z0-9-]+$/;
const KEY_BYTES = 32;

/**
 * Parses `id1:base64key,id2:base64key` (typically from an environment variable). Errors name the
 * offending key id or position, never key material.
 */
export function parseMasterKeys(text: string): MasterKeyRing {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new Error('No vault master key given (expected "id:base64key[,id:base64key…]")');
  const keys: MasterKey[] = [];
  const byId = new Map<string, MasterKey>();
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    if (colon < 0) throw new Error(`Vault master key #${index + 1} is not "id:base64key"`);
    const id = entry.slice(0, colon);
    const encoded = entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) throw new Error(`Vault master key #${index + 1} has an invalid id (expected [a-z0-9-]+)`);
    if (byId.has(id)) throw new Error(`Vault master key id "${id}" appears twice`);
    const key = Buffer.from(encoded, 'base64');
    // Buffer.from skips invalid characters silently; a re-encode comparison catches a truncated
    // or mistyped key before it wraps anything.
    if (key.length !== KEY_BYTES || key.toString('base64') !== encoded) {
      throw new Error(`Vault master key "${id}" must be ${KEY_BYTES} bytes in standard base64`);
    }
    const master = { id, key };
    keys.push(master);
    byId.set(id, master);
  });
  return { current: keys[0]!, byId };
}

/** A fresh 256-bit master key, base64-encoded, for `parseMasterKeys`. */
export function generateMasterKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}
