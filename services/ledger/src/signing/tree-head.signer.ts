import { type SignedTreeHead, checkpointText, signNote, signTreeHead } from '@trm/audit';
import type { Db } from '@trm/db';
import type { LedgerKeyring } from './signing-keys.js';
import { insertCheckpoint, insertHead, latestHead } from '../repositories/ledger.repository.js';
import type { TreeCache } from '../tree/tree-cache.js';

export interface SignerPolicy {
  /** Sign at least this often while the tree grows (ms). */
  intervalMs: number;
  /** Sign as soon as this many entries are not yet covered by a head. */
  everyEntries: number;
}

export interface TreeHeadSigner {
  /** Signs a head now when the policy says so; returns the head it signed, if any. */
  tick(): Promise<SignedTreeHead | undefined>;
  stop(): Promise<void>;
}

/**
 * Signs tree heads on a schedule: every `intervalMs` when entries arrived since the last head,
 * or as soon as `everyEntries` are uncovered, whichever first (checked every second at most).
 * An unchanged tree gets no new head: the latest one still describes it. The first tick signs
 * the head of whatever exists, even an empty tree, so auditors always have a head to start from.
 */
export function startTreeHeadSigner(opts: {
  db: Db;
  schema: string;
  tree: TreeCache;
  keys: LedgerKeyring;
  /** The C2SP checkpoint origin (and note key name). */
  origin: string;
  policy: SignerPolicy;
  clock: () => Date;
  onError: (err: unknown) => void;
}): TreeHeadSigner {
  const { db, schema, tree, keys, policy, clock } = opts;
  // Scheduling runs on the monotonic clock: `clock` is domain time (frozen or shifted in tests,
  // stepped by NTP in production) and only stamps the heads.
  let lastSignedAt = -Infinity;
  /** The largest head this replica has signed or seen: the database must still hold its leaves. */
  let trusted: SignedTreeHead | undefined;

  /**
   * Refuses to go on when the database no longer holds what a known head covers (a restore or a
   * failover to a lagging standby under a running replica): its tree is shorter, its root of that
   * size differs, or its heads went back. Signing then would give auditors two different logs.
   */
  const checkPrefix = async (size: number, last: SignedTreeHead | undefined): Promise<void> => {
    if (last && (!trusted || last.treeSize > trusted.treeSize)) {
      // A head signed by another replica (or found at start): trusted once its root is the database's.
      if (last.treeSize <= size && (await tree.root(last.treeSize)).toString('hex') === last.rootHash) trusted = last;
      else throw new Error(`ledger: the database no longer holds the leaves of the head of size ${last.treeSize}; refusing to sign`);
    }
    if (!trusted) return;
    if (!last || last.treeSize < trusted.treeSize) {
      throw new Error(`ledger: the database no longer holds the head of size ${trusted.treeSize} this replica signed or saw (heads rolled back); refusing to sign`);
    }
    if (size < trusted.treeSize || (await tree.root(trusted.treeSize)).toString('hex') !== trusted.rootHash) {
      throw new Error(`ledger: the database no longer holds the leaves of the head of size ${trusted.treeSize}; refusing to sign`);
    }
  };
  let running: Promise<SignedTreeHead | undefined> | null = null;
  let stopped = false;

  const signIfDue = async (): Promise<SignedTreeHead | undefined> => {
    const size = await tree.sync();
    const last = await latestHead(db, schema);
    await checkPrefix(size, last);
    if (last && size <= last.treeSize) return undefined;
    const now = performance.now();
    const uncovered = size - (last?.treeSize ?? 0);
    // After a restart lastSignedAt is unknown: the first growth is signed at once.
    const due = !last || uncovered >= policy.everyEntries || now - lastSignedAt >= policy.intervalMs;
    if (!due) return undefined;
    const head = await signTreeHead({ treeSize: size, timestamp: clock().getTime(), rootHash: (await tree.root(size)).toString('hex') }, keys.current);
    lastSignedAt = now;
    // The same tree as a C2SP checkpoint, signed now with the same key (issue 15, finding 5).
    const note = signNote(checkpointText(opts.origin, head.treeSize, head.rootHash), opts.origin, keys.note.privateKey, keys.note.publicKey);
    // Another replica may have signed this size already: its head stands, ours is dropped.
    return db.transaction().execute(async (tx) => {
      if (!(await insertHead(tx, schema, head))) return undefined;
      await insertCheckpoint(tx, schema, head.treeSize, note);
      return head;
    }).then((signed) => {
      if (signed) trusted = signed;
      return signed;
    });
  };

  const tick = (): Promise<SignedTreeHead | undefined> => {
    if (stopped) return Promise.resolve(undefined);
    running ??= signIfDue().finally(() => {
      running = null;
    });
    return running;
  };

  const timer = setInterval(() => void tick().catch(opts.onError), Math.min(1000, policy.intervalMs));
  timer.unref();
  void tick().catch(opts.onError);

  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => {});
    },
  };
}
