import { createHash } from 'node:crypto';

/**
 * RFC 9162 §2.1 Merkle tree hashing. Leaves and nodes get different one-byte prefixes so a leaf
 * can never be passed off as an interior node (second-preimage attack on plain Merkle trees).
 * Hashes are 32-byte Buffers here and lowercase hex on the wire.
 */
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

export const HASH_SIZE = 32;

export function leafHash(entry: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(entry).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** MTH({}) = SHA-256 of nothing. */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}

const HEX_HASH = /^[0-9a-f]{64}$/;

export function isHexHash(value: unknown): value is string {
  return typeof value === 'string' && HEX_HASH.test(value);
}

export function fromHex(hex: string): Buffer {
  // Buffer.from(…, 'hex') stops silently at the first bad digit: refuse instead.
  if (!isHexHash(hex)) throw new TypeError('not a lowercase hex SHA-256');
  return Buffer.from(hex, 'hex');
}

/** Largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 1) return false;
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

// Tree sizes may exceed 2^31, where JavaScript's bitwise operators wrap: plain arithmetic only.
const odd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

/** Hashes of a level, packed in one growable buffer (a Buffer per hash costs ~3× the memory). */
class HashArray {
  private buf = Buffer.alloc(HASH_SIZE * 1024);
  length = 0;

  push(hash: Uint8Array): void {
    if ((this.length + 1) * HASH_SIZE > this.buf.length) {
      const bigger = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(bigger);
      this.buf = bigger;
    }
    this.buf.set(hash, this.length * HASH_SIZE);
    this.length++;
  }

  at(i: number): Buffer {
    if (i < 0 || i >= this.length) throw new RangeError(`hash ${i} of ${this.length}`);
    return this.buf.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }
}

/**
 * An append-only Merkle tree that keeps every complete, aligned subtree hash (level k holds the
 * hashes of leaves [i·2^k, (i+1)·2^k)). Every subtree RFC 9162's recursion visits is either one
 * of those or a right edge, so roots and proofs of any size cost O(log n) hashes.
 */
export class MerkleTree {
  private readonly levels: HashArray[] = [new HashArray()];

  get size(): number {
    return this.levels[0]!.length;
  }

  append(leaf: Uint8Array): void {
    if (leaf.length !== HASH_SIZE) throw new TypeError('a leaf hash is 32 bytes');
    this.levels[0]!.push(leaf);
    let index = this.size - 1;
    for (let level = 0; odd(index); level++) {
      const current = this.levels[level]!;
      const parent = nodeHash(current.at(index - 1), current.at(index));
      if (!this.levels[level + 1]) this.levels.push(new HashArray());
      this.levels[level + 1]!.push(parent);
      index = half(index);
    }
  }

  leaf(index: number): Buffer {
    return this.levels[0]!.at(index);
  }

  /** Complete, aligned subtrees of 2^level leaves held (floor(size / 2^level)). */
  levelSize(level: number): number {
    return this.levels[level]?.length ?? 0;
  }

  /**
   * `count` hashes of `level` from `start`, concatenated: the body of a C2SP tlog-tiles tile (tile
   * level L holds tree level 8·L). Throws when they do not all exist yet.
   */
  levelHashes(level: number, start: number, count: number): Buffer {
    if (start + count > this.levelSize(level)) throw new RangeError(`hashes ${start}..${start + count} of level ${level}: not there yet`);
    const out = Buffer.alloc(count * HASH_SIZE);
    for (let i = 0; i < count; i++) out.set(this.levels[level]!.at(start + i), i * HASH_SIZE);
    return out;
  }

  /** MTH(D[start:end]). */
  private subtree(start: number, end: number): Buffer {
    const n = end - start;
    if (n === 0) return emptyRoot();
    if (isPowerOfTwo(n) && start % n === 0) {
      const level = Math.log2(n);
      const stored = this.levels[level];
      if (stored && start / n < stored.length) return stored.at(start / n);
    }
    const k = splitPoint(n);
    return nodeHash(this.subtree(start, start + k), this.subtree(start + k, end));
  }

  private checkSize(treeSize: number): void {
    if (!Number.isSafeInteger(treeSize) || treeSize < 0 || treeSize > this.size) {
      throw new RangeError(`tree size ${treeSize} is not between 0 and ${this.size}`);
    }
  }

  root(treeSize = this.size): Buffer {
    this.checkSize(treeSize);
    return this.subtree(0, treeSize);
  }

  /** RFC 9162 §2.1.3.1 PATH(m, D[n]), leaf to root. */
  inclusionProof(index: number, treeSize = this.size): Buffer[] {
    this.checkSize(treeSize);
    if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) throw new RangeError(`leaf ${index} is not in a tree of size ${treeSize}`);
    const path: Buffer[] = [];
    const walk = (m: number, start: number, end: number): void => {
      const n = end - start;
      if (n <= 1) return;
      const k = splitPoint(n);
      if (m < k) {
        walk(m, start, start + k);
        path.push(this.subtree(start + k, end));
      } else {
        walk(m - k, start + k, end);
        path.push(this.subtree(start, start + k));
      }
    };
    walk(index, 0, treeSize);
    return path;
  }

  /** RFC 9162 §2.1.4.1 PROOF(m, D[n]). Empty when m is 0 or m = n. */
  consistencyProof(first: number, second = this.size): Buffer[] {
    this.checkSize(second);
    if (!Number.isSafeInteger(first) || first < 0 || first > second) throw new RangeError(`tree size ${first} is not between 0 and ${second}`);
    if (first === 0 || first === second) return [];
    const proof: Buffer[] = [];
    const sub = (m: number, start: number, end: number, complete: boolean): void => {
      const n = end - start;
      if (m === n) {
        if (!complete) proof.push(this.subtree(start, end));
        return;
      }
      const k = splitPoint(n);
      if (m <= k) {
        sub(m, start, start + k, complete);
        proof.push(this.subtree(start + k, end));
      } else {
        sub(m - k, start + k, end, false);
        proof.push(this.subtree(start, start + k));
      }
    };
    sub(first, 0, second, true);
    return proof;
  }
}

/**
 * The root of a growing list of leaves in O(log n) memory (the "compact range" of the left edge),
 * for verifying exports too large to hold.
 */
export class StreamingRoot {
  private readonly stack: Array<{ size: number; hash: Buffer }> = [];
  size = 0;

  append(leaf: Uint8Array): void {
    this.stack.push({ size: 1, hash: Buffer.from(leaf) });
    this.size++;
    for (;;) {
      const right = this.stack[this.stack.length - 1];
      const left = this.stack[this.stack.length - 2];
      if (!right || !left || left.size !== right.size) break;
      this.stack.splice(this.stack.length - 2, 2, { size: left.size * 2, hash: nodeHash(left.hash, right.hash) });
    }
  }

  root(): Buffer {
    if (this.stack.length === 0) return emptyRoot();
    let hash = this.stack[this.stack.length - 1]!.hash;
    for (let i = this.stack.length - 2; i >= 0; i--) hash = nodeHash(this.stack[i]!.hash, hash);
    return hash;
  }
}

/** MTH of a list of leaf hashes. */
export function rootOf(leaves: readonly Uint8Array[]): Buffer {
  const r = new StreamingRoot();
  for (const l of leaves) r.append(l);
  return r.root();
}

/** RFC 9162 §2.1.3.2: does `proof` place `leaf` at `index` in the tree of `treeSize` with `root`? */
export function verifyInclusion(index: number, treeSize: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && r.equals(root);
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree of `second` leaves extends the one of `first`? */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) return false;
  if (first === second) return proof.length === 0 && Buffer.from(firstRoot).equals(secondRoot);
  // Every tree extends the empty one; its root must still be the empty root.
  if (first === 0) return proof.length === 0 && emptyRoot().equals(firstRoot);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && fr.equals(firstRoot) && sr.equals(secondRoot);
}
