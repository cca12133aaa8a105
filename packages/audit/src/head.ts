import { type CryptoKey, type JWK, type KeyObject, CompactSign, compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { canonicalJson } from '@trm/event-store';
import { isHexHash } from './merkle.js';

/** What a tree head commits to (RFC 9162 §4.10 without the extensions). */
export interface TreeHeadPayload {
  treeSize: number;
  /** Milliseconds since the Unix epoch, when the head was signed. */
  timestamp: number;
  /** MTH of the first treeSize entries, lowercase hex. */
  rootHash: string;
}

/**
 * A signed tree head as served and as an auditor keeps it. `signature` is a compact JWS (EdDSA,
 * Ed25519) over the canonical JSON of the payload; the other members repeat it for reading and
 * are checked against it, never trusted on their own.
 */
export interface SignedTreeHead extends TreeHeadPayload {
  keyId: string;
  signature: string;
}

export const TREE_HEAD_JWS_TYPE = 'trm-tree-head+jws';
export const TREE_HEAD_ALGORITHMS = ['EdDSA'] as const;

export async function signTreeHead(payload: TreeHeadPayload, key: { kid: string; privateKey: CryptoKey | KeyObject }): Promise<SignedTreeHead> {
  const body = { treeSize: payload.treeSize, timestamp: payload.timestamp, rootHash: payload.rootHash };
  const signature = await new CompactSign(new TextEncoder().encode(canonicalJson(body)))
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: TREE_HEAD_JWS_TYPE })
    .sign(key.privateKey);
  return { ...body, keyId: key.kid, signature };
}

export type HeadCheck = { ok: true; head: SignedTreeHead } | { ok: false; reason: string };

function payloadProblem(p: unknown): string | null {
  if (typeof p !== 'object' || p === null) return 'the signed payload is not an object';
  const { treeSize, timestamp, rootHash, ...rest } = p as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return 'the signed payload has unexpected members';
  if (typeof treeSize !== 'number' || !Number.isSafeInteger(treeSize) || treeSize < 0) return 'treeSize is not a non-negative integer';
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) return 'timestamp is not a non-negative integer';
  if (!isHexHash(rootHash)) return 'rootHash is not a lowercase hex SHA-256';
  return null;
}

/**
 * Checks a head's signature against a JWKS (offline: no key is fetched) and that its readable
 * members say what was signed. The returned head carries the signed values.
 */
export async function verifyTreeHead(head: unknown, jwks: { keys: JWK[] }): Promise<HeadCheck> {
  if (typeof head !== 'object' || head === null) return { ok: false, reason: 'the head is not a JSON object' };
  const h = head as Record<string, unknown>;
  if (typeof h.signature !== 'string') return { ok: false, reason: 'the head has no signature' };
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(h.signature);
  } catch {
    return { ok: false, reason: 'the signature is not a compact JWS' };
  }
  if (header.typ !== TREE_HEAD_JWS_TYPE) return { ok: false, reason: `the signature is not a tree head signature (typ ${String(header.typ)})` };
  if (typeof header.kid !== 'string') return { ok: false, reason: 'the signature names no key id' };
  if (!Array.isArray(jwks?.keys)) return { ok: false, reason: 'the JWKS has no keys array' };
  // Only Ed25519 keys count, whatever else the set holds.
  const keys = jwks.keys.filter((k) => k.kty === 'OKP' && k.crv === 'Ed25519' && !('d' in k));
  let payload: unknown;
  try {
    const verified = await compactVerify(h.signature, createLocalJWKSet({ keys }), { algorithms: [...TREE_HEAD_ALGORITHMS] });
    payload = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_JWKS_NO_MATCHING_KEY') return { ok: false, reason: `no key ${header.kid} in the JWKS: the head was signed by another key` };
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return { ok: false, reason: `the signature does not verify with key ${header.kid}` };
    return { ok: false, reason: `the signature does not verify (${code ?? 'invalid'})` };
  }
  const problem = payloadProblem(payload);
  if (problem) return { ok: false, reason: problem };
  const signed = payload as TreeHeadPayload;
  for (const field of ['treeSize', 'timestamp', 'rootHash'] as const) {
    if (h[field] !== undefined && h[field] !== signed[field]) return { ok: false, reason: `${field} differs from the signed value` };
  }
  if (h.keyId !== undefined && h.keyId !== header.kid) return { ok: false, reason: 'keyId differs from the signing key' };
  return { ok: true, head: { ...signed, keyId: header.kid, signature: h.signature } };
}
