import { MerkleTree, fromHex } from '@trm/audit';
import type { Db } from '@trm/db';
import { readLeafHashes } from '../repositories/ledger.repository.js';

const PAGE = 5000;

/**
 * The Merkle tree of the committed ledger, in memory: leaf hashes come from the database (the
 * record), interior hashes are recomputed here. Each replica keeps its own copy and catches up
 * on the committed prefix before it answers, so any replica gives the same roots and proofs.
 */
export class TreeCache {
  readonly tree = new MerkleTree();
  private syncing: Promise<number> | null = null;

  constructor(
    private readonly db: Db,
    private readonly schema: string,
  ) {}

  /** Reads the leaves committed since the last sync; resolves to the tree size. */
  sync(): Promise<number> {
    // One sync at a time: a second caller waits for the one in flight, then runs its own.
    const run = async (): Promise<number> => {
      for (;;) {
        const leaves = await readLeafHashes(this.db, this.schema, this.tree.size, PAGE);
        for (const leaf of leaves) this.tree.append(fromHex(leaf));
        if (leaves.length < PAGE) return this.tree.size;
      }
    };
    const next = (this.syncing ?? Promise.resolve(0)).catch(() => 0).then(run);
    this.syncing = next;
    return next;
  }
}
