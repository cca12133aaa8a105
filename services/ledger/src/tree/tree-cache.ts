import { emptyRoot, fromHex, nodeHash } from '@trm/audit';
import type { DbOrTx } from '@trm/event-store';
import { sql } from 'kysely';
import { ledgerSize } from '../repositories/ledger.repository.js';

/** Tree levels stored (besides the leaves): every 8th, as C2SP tlog-tiles' tiles of 256. */
export const TILE_HEIGHT = 8;
const TILE = 2 ** TILE_HEIGHT;

const t = (schema: string, table: string) => sql.table(`${schema}.${table}`);

function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function log2IfPowerOfTwo(n: number): number | null {
  let h = 0;
  let k = 1;
  while (k < n) {
    k *= 2;
    h++;
  }
  return k === n ? h : null;
}

/** Folds 2^h hashes (in order) into the root of the complete subtree they are the leaves of. */
function fold(hashes: Buffer[]): Buffer {
  let level = hashes;
  while (level.length > 1) {
    const up: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) up.push(nodeHash(level[i]!, level[i + 1]!));
    level = up;
  }
  return level[0]!;
}

/**
 * Hashes of `count` nodes of `level` from `start` (level 0: the leaves; a multiple of 8: stored
 * subtree hashes); fewer when they do not all exist.
 */
async function readLevel(db: DbOrTx, schema: string, level: number, start: number, count: number): Promise<Buffer[]> {
  if (count <= 0) return [];
  if (level === 0) {
    const { rows } = await sql<{ leaf_hash: string }>`
      select leaf_hash from ${t(schema, 'ledger_entries')}
      where ledger_index >= ${start}::bigint and ledger_index < ${start + count}::bigint
      order by ${t(schema, 'ledger_entries')}.ledger_index`.execute(db);
    return rows.map((r) => fromHex(r.leaf_hash));
  }
  const { rows } = await sql<{ hash: Buffer }>`
    select hash from ${t(schema, 'tree_nodes')}
    where level = ${level}::smallint and idx >= ${start}::bigint and idx < ${start + count}::bigint
    order by idx`.execute(db);
  return rows.map((r) => Buffer.from(r.hash));
}

/**
 * The RFC 9162 Merkle tree of the committed ledger, read from PostgreSQL (issue 15, finding 4):
 * leaves in `ledger_entries`, the hash of every complete aligned subtree of 256^k leaves in
 * `tree_nodes` (written with the entries, in the consumer's transaction). Nothing is held in
 * memory or rebuilt at start: a root or proof of any size costs O(log n) lookups, each at most
 * 128 hashes of the stored level below, so any replica serves any size at once.
 */
export class TreeCache {
  constructor(
    private readonly db: DbOrTx,
    private readonly schema: string,
  ) {}

  /** The committed tree size (the counter moves with the entries, in their transaction). */
  sync(): Promise<number> {
    return ledgerSize(this.db, this.schema);
  }

  /** Complete aligned subtrees of 2^level leaves. */
  async levelSize(level: number): Promise<number> {
    return Math.floor((await this.sync()) / 2 ** level);
  }

  /** `count` hashes of `level` (0 or a multiple of 8) from `start`, concatenated: a C2SP hash tile's body. */
  async levelHashes(level: number, start: number, count: number): Promise<Buffer> {
    if (level % TILE_HEIGHT !== 0) throw new RangeError('tiles hold every 8th level');
    const hashes = await readLevel(this.db, this.schema, level, start, count);
    if (hashes.length === count) return Buffer.concat(hashes);
    // Stored nodes missing (a ledger migrated before tree_nodes, not backfilled yet): compute.
    const out: Buffer[] = [];
    for (let i = 0; i < count; i++) out.push(await this.aligned(level, start + i));
    return Buffer.concat(out);
  }

  /** The hash of the complete subtree of 2^h leaves starting at leaf k·2^h. */
  async aligned(h: number, k: number): Promise<Buffer> {
    const base = h - (h % TILE_HEIGHT);
    const span = 2 ** (h - base);
    const below = await readLevel(this.db, this.schema, base, k * span, span);
    if (below.length === span) return span === 1 ? below[0]! : fold(below);
    if (base === 0) throw new RangeError(`leaves ${k * 2 ** h}..${(k + 1) * 2 ** h} are not all in the ledger`);
    const nodes: Buffer[] = [];
    if (h === base) {
      // A stored node is missing (a ledger older than tree_nodes): from the 256 of the stored level below.
      for (let i = 0; i < TILE; i++) nodes.push(await this.aligned(h - TILE_HEIGHT, k * TILE + i));
    } else {
      for (let i = 0; i < span; i++) nodes.push(await this.aligned(base, k * span + i));
    }
    return fold(nodes);
  }

  /** MTH of leaves [start, start + n). */
  private async mth(start: number, n: number): Promise<Buffer> {
    if (n === 0) return emptyRoot();
    const h = log2IfPowerOfTwo(n);
    if (h !== null && start % n === 0) return this.aligned(h, start / n);
    const k = splitPoint(n);
    return nodeHash(await this.mth(start, k), await this.mth(start + k, n - k));
  }

  private async checkSize(treeSize: number): Promise<void> {
    const size = await this.sync();
    if (!Number.isSafeInteger(treeSize) || treeSize < 0 || treeSize > size) throw new RangeError(`tree size ${treeSize} is not between 0 and ${size}`);
  }

  async root(treeSize: number): Promise<Buffer> {
    await this.checkSize(treeSize);
    return this.mth(0, treeSize);
  }

  /** RFC 9162 PATH(index, D[treeSize]), from the leaf up. */
  async inclusionProof(index: number, treeSize: number): Promise<Buffer[]> {
    await this.checkSize(treeSize);
    if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) throw new RangeError(`index ${index} is not below ${treeSize}`);
    const path = async (m: number, start: number, n: number): Promise<Buffer[]> => {
      if (n === 1) return [];
      const k = splitPoint(n);
      return m < k ? [...(await path(m, start, k)), await this.mth(start + k, n - k)] : [...(await path(m - k, start + k, n - k)), await this.mth(start, k)];
    };
    return path(index, 0, treeSize);
  }

  /** RFC 9162 PROOF(first, D[second]). */
  async consistencyProof(first: number, second: number): Promise<Buffer[]> {
    await this.checkSize(second);
    if (!Number.isSafeInteger(first) || first < 0 || first > second) throw new RangeError(`tree size ${first} is not between 0 and ${second}`);
    if (first === 0 || first === second) return [];
    const sub = async (m: number, start: number, n: number, complete: boolean): Promise<Buffer[]> => {
      if (m === n) return complete ? [] : [await this.mth(start, n)];
      const k = splitPoint(n);
      return m <= k
        ? [...(await sub(m, start, k, complete)), await this.mth(start + k, n - k)]
        : [...(await sub(m - k, start + k, n - k, false)), await this.mth(start, k)];
    };
    return sub(first, 0, second, true);
  }
}

/**
 * Stores the subtree hashes that the leaves [from, to) complete, level by level (8, 16, …), in
 * the caller's transaction (the consumer's, which holds the counter row: appends are serial).
 */
export async function extendTreeNodes(tx: DbOrTx, schema: string, from: number, to: number): Promise<void> {
  const tree = new TreeCache(tx, schema);
  for (let level = TILE_HEIGHT; 2 ** level <= to; level += TILE_HEIGHT) {
    const span = 2 ** level;
    const firstNew = Math.floor(from / span);
    const end = Math.floor(to / span);
    if (end <= firstNew) continue;
    const rows: Array<{ level: number; idx: number; hash: string }> = [];
    for (let idx = firstNew; idx < end; idx++) {
      const children = await readLevel(tx, schema, level - TILE_HEIGHT, idx * TILE, TILE);
      const hash = children.length === TILE ? fold(children) : await tree.aligned(level, idx);
      rows.push({ level, idx, hash: hash.toString('hex') });
    }
    await sql`
      insert into ${t(schema, 'tree_nodes')} (level, idx, hash)
      select level, idx, decode(hash, 'hex') from json_to_recordset(${JSON.stringify(rows)}::json) as r(level smallint, idx bigint, hash text)
      on conflict (level, idx) do nothing`.execute(tx);
  }
}

/**
 * Once, for a ledger that existed before tree_nodes: stores the missing subtree hashes of its
 * committed prefix, reading the leaves in order once (bounded memory). A no-op afterwards.
 */
export async function backfillTreeNodes(db: DbOrTx, schema: string): Promise<number> {
  const size = await ledgerSize(db, schema);
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${t(schema, 'tree_nodes')} where level = ${TILE_HEIGHT}::smallint`.execute(db);
  const done = Number(rows[0]!.n) * TILE;
  const chunk = TILE * 64;
  for (let from = done; from + TILE <= size; from += chunk) await extendTreeNodes(db, schema, from, Math.min(size, from + chunk));
  return size - done;
}

