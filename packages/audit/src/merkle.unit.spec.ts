import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MerkleTree, StreamingRoot, emptyRoot, leafHash, nodeHash, rootOf, verifyConsistency, verifyInclusion } from './merkle.js';

// RFC 9162 §2.1 written as literally as possible, as the reference the fast code must agree with.
const sha = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
const k = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(Buffer.from([0]), d[0]!);
  const s = k(d.length);
  return sha(Buffer.from([1]), mth(d.slice(0, s)), mth(d.slice(s)));
}
function path(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const s = k(d.length);
  return m < s ? [...path(m, d.slice(0, s)), mth(d.slice(s))] : [...path(m - s, d.slice(s)), mth(d.slice(0, s))];
}
function subproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const s = k(d.length);
  return m <= s ? [...subproof(m, d.slice(0, s), b), mth(d.slice(s))] : [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))];
}

// The test inputs of the certificate-transparency reference implementation (RFC 6962 test vectors).
const VECTOR_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const VECTOR_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const data = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`entry-${i}`));
function treeOf(entries: Buffer[]): MerkleTree {
  const t = new MerkleTree();
  for (const e of entries) t.append(leafHash(e));
  return t;
}

describe('Merkle tree (RFC 9162 §2.1)', () => {
  it('hashes leaves with 0x00 and nodes with 0x01', () => {
    expect(leafHash(Buffer.from('a'))).toEqual(sha(Buffer.from([0]), Buffer.from('a')));
    expect(nodeHash(Buffer.alloc(32, 1), Buffer.alloc(32, 2))).toEqual(sha(Buffer.from([1]), Buffer.alloc(32, 1), Buffer.alloc(32, 2)));
    expect(emptyRoot().toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('gives the reference implementation roots for its test vectors', () => {
    const t = treeOf(VECTOR_INPUTS);
    VECTOR_ROOTS.forEach((root, i) => expect(t.root(i + 1).toString('hex')).toBe(root));
  });

  it('computes the same root as the RFC definition for every size, incrementally and streaming', () => {
    const d = data(70);
    const t = treeOf(d);
    const s = new StreamingRoot();
    for (let n = 0; n <= d.length; n++) {
      const expected = mth(d.slice(0, n));
      expect(t.root(n)).toEqual(expected);
      expect(s.root()).toEqual(expected);
      expect(rootOf(d.slice(0, n).map(leafHash))).toEqual(expected);
      if (n < d.length) s.append(leafHash(d[n]!));
    }
  });

  it('produces the RFC audit paths, and they verify', () => {
    const d = data(33);
    const t = treeOf(d);
    for (let n = 1; n <= d.length; n++) {
      for (let m = 0; m < n; m++) {
        const proof = t.inclusionProof(m, n);
        expect(proof).toEqual(path(m, d.slice(0, n)));
        expect(verifyInclusion(m, n, leafHash(d[m]!), proof, t.root(n))).toBe(true);
      }
    }
  });

  it('produces the RFC consistency proofs, and they verify', () => {
    const d = data(33);
    const t = treeOf(d);
    for (let n = 1; n <= d.length; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = t.consistencyProof(m, n);
        expect(proof).toEqual(m === n ? [] : subproof(m, d.slice(0, n), true));
        expect(verifyConsistency(m, n, t.root(m), t.root(n), proof)).toBe(true);
      }
    }
    expect(verifyConsistency(0, 5, emptyRoot(), t.root(5), [])).toBe(true);
  });

  it('rejects a forged inclusion proof', () => {
    const t = treeOf(data(13));
    const root = t.root();
    const leaf = t.leaf(6);
    const proof = t.inclusionProof(6);
    const flipped = proof.map((p, i) => (i === 1 ? Buffer.from(p.map((b, j) => (j === 0 ? b ^ 1 : b))) : p));
    expect(verifyInclusion(6, 13, leaf, flipped, root)).toBe(false);
    expect(verifyInclusion(7, 13, leaf, proof, root)).toBe(false);
    // Sizes are bound by the signed head, not by the path: only a different depth shows here.
    expect(verifyInclusion(6, 40, leaf, proof, root)).toBe(false);
    expect(verifyInclusion(6, 13, t.leaf(5), proof, root)).toBe(false);
    expect(verifyInclusion(6, 13, leaf, proof.slice(0, -1), root)).toBe(false);
    expect(verifyInclusion(6, 13, leaf, [...proof, root], root)).toBe(false);
    expect(verifyInclusion(13, 13, leaf, proof, root)).toBe(false);
    // A leaf that is not in the tree, with the path of another.
    expect(verifyInclusion(6, 13, leafHash(Buffer.from('forged')), proof, root)).toBe(false);
  });

  it('rejects a consistency proof between trees that do not extend each other', () => {
    const honest = treeOf(data(20));
    const rewritten = data(20);
    rewritten[3] = Buffer.from('rewritten history');
    const fork = treeOf(rewritten);
    for (const [m, n] of [[5, 20], [8, 20], [4, 13], [7, 8]] as const) {
      // The fork's own proof, the honest proof, with the honest old root: none may pass.
      expect(verifyConsistency(m, n, honest.root(m), fork.root(n), fork.consistencyProof(m, n))).toBe(false);
      expect(verifyConsistency(m, n, honest.root(m), fork.root(n), honest.consistencyProof(m, n))).toBe(false);
    }
    // Entries only appended after index 3 leave the first 3 consistent: the check is exact.
    expect(verifyConsistency(3, 20, honest.root(3), fork.root(20), fork.consistencyProof(3, 20))).toBe(true);
    const p = honest.consistencyProof(6, 20);
    expect(verifyConsistency(6, 20, honest.root(6), honest.root(20), p.slice(1))).toBe(false);
    expect(verifyConsistency(6, 20, honest.root(6), honest.root(20), [...p, honest.root(20)])).toBe(false);
    expect(verifyConsistency(6, 70, honest.root(6), honest.root(20), p)).toBe(false);
    expect(verifyConsistency(20, 6, honest.root(20), honest.root(6), p)).toBe(false);
    expect(verifyConsistency(6, 6, honest.root(6), fork.root(6), [])).toBe(false);
  });

  it('refuses sizes outside the tree', () => {
    const t = treeOf(data(4));
    expect(() => t.root(5)).toThrow(RangeError);
    expect(() => t.inclusionProof(4, 4)).toThrow(RangeError);
    expect(() => t.consistencyProof(5, 4)).toThrow(RangeError);
  });
});
