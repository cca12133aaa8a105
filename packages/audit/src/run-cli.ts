import { constants, createReadStream } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { type InclusionProofDocument, checkConsistencyProof, checkInclusionProof } from './proofs.js';
import { verifyCheckpoint } from './checkpoint.js';
import { verifyExport } from './verify-export.js';

const USAGE = `Usage:
  trm-audit verify <entries.ndjson|-> --head <head.json> --jwks <jwks.json> [--previous-head <older.json>] [--no-progress]
  trm-audit verify <entries.ndjson|-> --checkpoint <checkpoint> --vkey <vkey> [--no-progress]
  trm-audit checkpoint <checkpoint> --vkey <vkey>
  trm-audit inclusion <proof.json> --head <head.json> --jwks <jwks.json>
  trm-audit consistency <proof.json> --previous-head <older.json> --head <head.json> --jwks <jwks.json>

Checks a TRM ledger export or proof offline: no server, no database.
Exit 0 and "OK" when it verifies; 1 and "FAILED: …" naming the first bad entry otherwise; 2 on bad usage.`;

/** Exports this large get a progress bar (on stderr, so stdout stays one line). */
const PROGRESS_FROM = 5_000;

class UsageError extends Error {}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${what} ${file} is not JSON`);
  }
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`missing --${flag}`);
  return value;
}

export interface CliIo {
  stdout: (line: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
}

/** Runs the CLI and returns its exit code (the bin calls process.exit with it). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        head: { type: 'string' },
        jwks: { type: 'string' },
        'previous-head': { type: 'string' },
        checkpoint: { type: 'string' },
        vkey: { type: 'string' },
        'no-progress': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  try {
    parsed = parse();
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  const [command, file, ...rest] = positionals;
  try {
    if (!command || !file || rest.length > 0) throw new UsageError('expected a command and one file');
    if (command === 'checkpoint' || (command === 'verify' && values.checkpoint)) {
      const vkey = await readText(required(values.vkey, 'vkey'), 'vkey');
      if (command === 'checkpoint') {
        const result = verifyCheckpoint(await readText(file, 'checkpoint'), vkey);
        return report(
          result.ok ? `OK: checkpoint of ${result.origin}, tree size ${result.treeSize}, root ${result.rootHash}, signed by the vkey's key` : `FAILED: ${result.reason}`,
          result.ok,
          io,
        );
      }
      const note = await readText(values.checkpoint!, 'checkpoint');
      return await verify(file, { keys: [] }, { ...values, 'previous-head': undefined }, io, { note, vkey });
    }
    const jwks = (await readJson(required(values.jwks, 'jwks'), 'JWKS')) as { keys: never[] };
    if (command === 'verify') return await verify(file, jwks, values, io);
    if (command === 'inclusion') {
      const proof = await readJson(file, 'proof');
      const head = await readJson(required(values.head, 'head'), 'head');
      const result = await checkInclusionProof(proof as never, head, jwks);
      return report(result.ok ? `OK: ${provenWhat(proof as InclusionProofDocument)}` : `FAILED: ${result.reason}`, result.ok, io);
    }
    if (command === 'consistency') {
      const proof = await readJson(file, 'proof');
      const older = await readJson(required(values['previous-head'], 'previous-head'), 'previous head');
      const head = await readJson(required(values.head, 'head'), 'head');
      const result = await checkConsistencyProof(proof as never, older, head, jwks);
      return report(result.ok ? 'OK: the newer log extends the older one' : `FAILED: ${result.reason}`, result.ok, io);
    }
    throw new UsageError(`unknown command ${command}`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`trm-audit: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
}

/**
 * Exactly what a verified inclusion proof covers (issue 15, finding 3): the event, when the proof
 * carries its entry (checked against the leaf hash), else only a leaf hash at an index.
 */
function provenWhat(proof: InclusionProofDocument): string {
  const where = `in the signed log of tree size ${proof.treeSize}`;
  const e = proof.entry?.event;
  if (!e) return `leaf ${proof.leafHash} is entry ${proof.index} ${where}; the proof carries no event, so it proves no event's content`;
  return `entry ${proof.index} ${where} is event ${e.eventId} (${e.type}, ${e.service} stream ${e.streamId} version ${e.streamVersion}), leaf ${proof.leafHash}`;
}

function report(line: string, ok: boolean, io: CliIo): number {
  io.stdout(line);
  return ok ? 0 : 1;
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

async function verify(
  file: string,
  jwks: { keys: never[] },
  values: { head?: string; 'previous-head'?: string; 'no-progress'?: boolean },
  io: CliIo,
  checkpoint?: { note: string; vkey: string },
): Promise<number> {
  const head = checkpoint ? { treeSize: Number(checkpoint.note.split('\n')[1]) } : await readJson(required(values.head, 'head'), 'head');
  const previousHead = values['previous-head'] ? await readJson(values['previous-head'], 'previous head') : undefined;
  if (file !== '-') {
    await access(file, constants.R_OK).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read entries ${file}: ${err.code ?? 'error'}`);
    });
  }
  const input = file === '-' ? io.stdin : createReadStream(file, { encoding: 'utf8' });
  const total = typeof (head as { treeSize?: unknown })?.treeSize === 'number' ? (head as { treeSize: number }).treeSize : 0;
  const bar =
    !values['no-progress'] && total >= PROGRESS_FROM
      ? new cliProgress.SingleBar(
          { stream: io.stderr as NodeJS.WritableStream, format: 'verifying [{bar}] {percentage}% | {value}/{total} entries | {eta_formatted}', clearOnComplete: true, noTTYOutput: true, notTTYSchedule: 5000 },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(total, 0);
  const lines = createInterface({ input, crlfDelay: Infinity });
  // The iterator is taken at once: readline drops the lines it emits before its async iterator
  // exists, and verifyExport checks the head's signature (async) before it reads the first entry,
  // so a small file could be read meanwhile and seen as empty.
  const iterator = lines[Symbol.asyncIterator]();
  const entries: AsyncIterable<string> = { [Symbol.asyncIterator]: () => iterator };
  try {
    const result = await verifyExport(entries, {
      ...(checkpoint ? { checkpoint } : { head, jwks }),
      ...(previousHead !== undefined ? { previousHead } : {}),
      onProgress: (n) => bar?.update(Math.min(n, total)),
      progressEvery: 1000,
    });
    bar?.stop();
    if (!result.ok) return report(`FAILED: ${result.message}`, false, io);
    const h = result.head;
    const parts = [
      `OK: ${result.entries} entries verified against the head of tree size ${h.treeSize}`,
      `root ${h.rootHash}`,
      checkpoint ? `checkpoint of ${h.keyId} signed by the vkey's key` : `signed by key ${h.keyId} at ${new Date(h.timestamp).toISOString()}`,
    ];
    if (result.previousHead) parts.push(`extends the previous head of tree size ${result.previousHead.treeSize}`);
    if (result.structural > 0) parts.push(`${result.structural} entries are leaf hashes only (structural): the tree is verified, not their content`);
    if (result.beyondHead > 0) parts.push(`${result.beyondHead} entries beyond the head are not covered by its signature`);
    return report(parts.join('; '), true, io);
  } finally {
    bar?.stop();
    lines.close();
  }
}

