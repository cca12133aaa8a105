import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** One entry as the stream check needs it. */
export interface StreamRecord {
  service: string;
  streamId: string;
  version: number;
  index: number;
  line: number;
  eventId: string;
  hash: string;
  prevHash: string | null;
}

export type StreamFailure = {
  code: 'stream-fork' | 'stream-gap' | 'stream-chain-broken';
  index: number;
  line: number;
  message: string;
};

const pad = (n: number) => String(n).padStart(16, '0');

/** A record as one sortable text line: (stream, version, index) order is string order. */
function encode(r: StreamRecord): string {
  return [encodeURIComponent(r.service), encodeURIComponent(r.streamId), pad(r.version), pad(r.index), r.line, r.eventId, r.hash, r.prevHash ?? '-'].join('\t');
}

function decode(text: string): StreamRecord {
  const [service, streamId, version, index, line, eventId, hash, prevHash] = text.split('\t') as [string, string, string, string, string, string, string, string];
  return {
    service: decodeURIComponent(service),
    streamId: decodeURIComponent(streamId),
    version: Number(version),
    index: Number(index),
    line: Number(line),
    eventId,
    hash,
    prevHash: prevHash === '-' ? null : prevHash,
  };
}

/**
 * Checks every stream of an export in bounded memory (issue 15, finding 3): records are kept
 * sorted by (service, stream, version, index) in runs of at most `memoryEntries`, spilled to
 * temporary files when there are more, and merged in one sorted pass at the end. In that order a
 * stream's entries are adjacent: a second entry for a version is a fork, a version more than one
 * above the previous (or a first version other than 1) is a gap, and a prevHash other than the
 * previous version's hash is a broken link. Memory: `memoryEntries` records plus one per run.
 */
export class StreamChecker {
  private buffer: string[] = [];
  private runs: string[] = [];
  private dir: string | null = null;

  constructor(private readonly memoryEntries = 100_000) {}

  async add(r: StreamRecord): Promise<void> {
    this.buffer.push(encode(r));
    if (this.buffer.length >= this.memoryEntries) await this.spill();
  }

  private async spill(): Promise<void> {
    this.dir ??= await mkdtemp(path.join(os.tmpdir(), 'trm-audit-streams-'));
    const file = path.join(this.dir, `run-${this.runs.length}`);
    this.buffer.sort();
    await writeFile(file, `${this.buffer.join('\n')}\n`);
    this.runs.push(file);
    this.buffer = [];
  }

  /** The first failure in stream order, or null. */
  finish(): Promise<StreamFailure | null> {
    return this.check();
  }

  /** Removes the temporary files (call it whatever happened). */
  async close(): Promise<void> {
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = null;
    this.runs = [];
    this.buffer = [];
  }

  private async check(): Promise<StreamFailure | null> {
    this.buffer.sort();
    const sources: Array<AsyncIterator<string> | Iterator<string>> = this.runs.map((f) =>
      createInterface({ input: createReadStream(f, { encoding: 'utf8' }), crlfDelay: Infinity })[Symbol.asyncIterator](),
    );
    sources.push(this.buffer[Symbol.iterator]());
    const heads: Array<string | null> = [];
    const pull = async (k: number) => {
      for (;;) {
        const next = await sources[k]!.next();
        if (next.done) return (heads[k] = null);
        if (next.value !== '') return (heads[k] = next.value);
      }
    };
    for (let k = 0; k < sources.length; k++) await pull(k);
    // A binary min-heap of the runs by their next record: O(log runs) per record.
    const heap: number[] = [];
    const less = (a: number, b: number) => heads[a]! < heads[b]!;
    const down = (i: number) => {
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) return;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    };
    for (let k = 0; k < heads.length; k++) if (heads[k] !== null) heap.push(k);
    for (let i = Math.floor(heap.length / 2) - 1; i >= 0; i--) down(i);
    let prev: StreamRecord | null = null;
    try {
      while (heap.length > 0) {
        const min = heap[0]!;
        const cur = decode(heads[min]!);
        await pull(min);
        if (heads[min] === null) {
          heap[0] = heap[heap.length - 1]!;
          heap.pop();
        }
        if (heap.length > 0) down(0);
        const bad = judge(prev, cur);
        if (bad) return bad;
        prev = cur;
      }
      return null;
    } finally {
      for (const s of sources) await (s as AsyncIterator<string>).return?.();
    }
  }
}

const name = (r: StreamRecord) => `entry ${r.index} (line ${r.line}, event ${r.eventId})`;

function judge(prev: StreamRecord | null, cur: StreamRecord): StreamFailure | null {
  const at = { index: cur.index, line: cur.line };
  const stream = `stream ${cur.service}/${cur.streamId}`;
  const same = prev !== null && prev.service === cur.service && prev.streamId === cur.streamId;
  if (!same) {
    if (cur.version !== 1) {
      return { code: 'stream-gap', ...at, message: `${name(cur)} is version ${cur.version} of ${stream}, whose versions 1 to ${cur.version - 1} are not in the export` };
    }
    if (cur.prevHash !== null) return { code: 'stream-chain-broken', ...at, message: `${name(cur)} is the first event of ${stream} but names a previous hash` };
    return null;
  }
  if (cur.version === prev.version) {
    return {
      code: 'stream-fork',
      ...at,
      message: `fork: ${name(prev)} and ${name(cur)} are both version ${cur.version} of ${stream}`,
    };
  }
  if (cur.version > prev.version + 1) {
    return {
      code: 'stream-gap',
      ...at,
      message: `${name(prev)} is version ${prev.version} of ${stream} and ${name(cur)} version ${cur.version}: versions ${prev.version + 1} to ${cur.version - 1} are missing`,
    };
  }
  if (cur.prevHash !== prev.hash) {
    return { code: 'stream-chain-broken', ...at, message: `${name(cur)} does not follow the previous event of ${stream} (${name(prev)}, version ${prev.version})` };
  }
  return null;
}
