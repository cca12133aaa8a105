import type { JWK } from 'jose';
import { entryLeafHash, type LedgerEntry } from './entry.js';
import { verifyTreeHead } from './head.js';
import { fromHex, isHexHash, verifyConsistency, verifyInclusion } from './merkle.js';

/** As GET /v1/ledger/entries/{index}/inclusion-proof serves it. */
export interface InclusionProofDocument {
  index: number;
  treeSize: number;
  leafHash: string;
  /** Sibling hashes from the leaf up (RFC 9162 PATH). */
  auditPath: string[];
  entry?: LedgerEntry;
}

/** As GET /v1/ledger/consistency-proof serves it. */
export interface ConsistencyProofDocument {
  firstTreeSize: number;
  secondTreeSize: number;
  proof: string[];
}

export type ProofCheck = { ok: true } | { ok: false; reason: string };

function hashes(list: unknown): Buffer[] | null {
  if (!Array.isArray(list) || !list.every(isHexHash)) return null;
  return list.map(fromHex);
}

/**
 * Checks that an entry is in the log a signed head commits to: the head's signature, the entry's
 * leaf hash (when the entry is given) and the audit path up to the head's root.
 */
export async function checkInclusionProof(proof: InclusionProofDocument, head: unknown, jwks: { keys: JWK[] }): Promise<ProofCheck> {
  const h = await verifyTreeHead(head, jwks);
  if (!h.ok) return { ok: false, reason: `head: ${h.reason}` };
  if (proof.treeSize !== h.head.treeSize) return { ok: false, reason: `the proof is for tree size ${proof.treeSize}, the head for ${h.head.treeSize}` };
  if (!isHexHash(proof.leafHash)) return { ok: false, reason: 'leafHash is not a lowercase hex SHA-256' };
  const path = hashes(proof.auditPath);
  if (!path) return { ok: false, reason: 'auditPath is not a list of hex SHA-256' };
  if (proof.entry) {
    if (proof.entry.index !== proof.index) return { ok: false, reason: 'the entry is not the one at the proven index' };
    if (entryLeafHash(proof.entry).toString('hex') !== proof.leafHash) return { ok: false, reason: 'the entry does not match the leaf hash' };
  }
  if (!verifyInclusion(proof.index, proof.treeSize, fromHex(proof.leafHash), path, fromHex(h.head.rootHash))) {
    return { ok: false, reason: `the audit path does not lead from entry ${proof.index} to the head's root` };
  }
  return { ok: true };
}

/** Checks that the log under `second` extends the log under `first` (both heads signed). */
export async function checkConsistencyProof(
  proof: ConsistencyProofDocument,
  first: unknown,
  second: unknown,
  jwks: { keys: JWK[] },
): Promise<ProofCheck> {
  const a = await verifyTreeHead(first, jwks);
  if (!a.ok) return { ok: false, reason: `first head: ${a.reason}` };
  const b = await verifyTreeHead(second, jwks);
  if (!b.ok) return { ok: false, reason: `second head: ${b.reason}` };
  if (proof.firstTreeSize !== a.head.treeSize || proof.secondTreeSize !== b.head.treeSize) {
    return { ok: false, reason: 'the proof is not between the tree sizes of these heads' };
  }
  const path = hashes(proof.proof);
  if (!path) return { ok: false, reason: 'proof is not a list of hex SHA-256' };
  if (!verifyConsistency(a.head.treeSize, b.head.treeSize, fromHex(a.head.rootHash), fromHex(b.head.rootHash), path)) {
    return { ok: false, reason: `the tree of size ${b.head.treeSize} does not extend the tree of size ${a.head.treeSize}` };
  }
  return { ok: true };
}
