import { EventEnvelopeSchema } from '@trm/contracts';
import { z } from 'zod';

export const HexHash = z.string().regex(/^[0-9a-f]{64}$/).describe('SHA-256, lowercase hex');
const Index = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const TreeHeadView = z
  .object({
    treeSize: z.number().int().min(0),
    timestamp: z.number().int().describe('Milliseconds since the Unix epoch, when the head was signed'),
    rootHash: HexHash,
    keyId: z.string().describe('kid of the signing key in /v1/ledger/jwks.json'),
    signature: z.string().describe('Compact JWS (EdDSA, Ed25519, typ trm-tree-head+jws) over the canonical JSON of {treeSize, timestamp, rootHash}'),
  })
  .meta({ id: 'SignedTreeHead' });

export const JwksView = z.object({
  keys: z.array(z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), kid: z.string(), alg: z.literal('EdDSA'), use: z.literal('sig') })),
});

export const EntryView = z
  .object({
    index: z.number().int().min(0),
    leafHash: HexHash.describe('SHA-256(0x00 ‖ canonical JSON of {event, index})'),
    event: EventEnvelopeSchema.optional().describe(
      'The event, only where the caller may see it in full (a case history, as the access matrix\'s LEDGER_DISCLOSURE says); the structural routes never carry it',
    ),
  })
  .meta({ id: 'LedgerEntry' });

export const TreeSizeParams = z.strictObject({ treeSize: Index });
export const IndexParams = z.strictObject({ index: Index });
export const EventIdParams = z.strictObject({ eventId: z.uuid() });
export const CaseIdParams = z.strictObject({ caseId: z.uuid() });

export const EntriesQuery = z.strictObject({
  from: Index.default(0).describe('First ledger index (inclusive); default 0'),
  to: Index.optional().describe('End (exclusive); default the latest signed head’s tree size, so the export verifies against that head'),
});

export const InclusionQuery = z.strictObject({
  treeSize: Index.optional().describe('Tree size to prove inclusion in; default the latest signed head’s'),
});

export const InclusionProofView = z.object({
  index: z.number().int(),
  treeSize: z.number().int(),
  leafHash: HexHash,
  auditPath: z.array(HexHash).describe('RFC 9162 PATH, from the leaf up'),
  rootHash: HexHash,
  entry: z.null().describe('Always null: the proof covers the leaf; a participant takes the event from its case history and checks its leaf hash'),
  head: TreeHeadView.nullable().describe('The signed head of this tree size, when there is one'),
});

export const ConsistencyQuery = z.strictObject({
  first: Index.describe('The older tree size (the one the auditor kept a head of)'),
  second: Index.optional().describe('The newer tree size; default the latest signed head’s'),
});

export const ConsistencyProofView = z.object({
  firstTreeSize: z.number().int(),
  secondTreeSize: z.number().int(),
  firstRootHash: HexHash,
  secondRootHash: HexHash,
  proof: z.array(HexHash).describe('RFC 9162 PROOF(first, D[second])'),
  firstHead: TreeHeadView.nullable(),
  secondHead: TreeHeadView.nullable(),
});

export const HistoryQuery = z.strictObject({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const HistoryView = z.object({
  caseId: z.string(),
  items: z.array(EntryView),
  nextCursor: z.string().nullable(),
});

export const StateQuery = z.strictObject({
  atIndex: Index.optional().describe('State after the ledger entry with this index (inclusive)'),
  asOf: z.iso.datetime({ offset: true }).optional().describe('State from the events recorded at or before this instant'),
});

export const StateView = z.object({
  caseId: z.string(),
  atIndex: z.number().int().nullable(),
  asOf: z.string().nullable(),
  aggregates: z.array(
    z.object({
      service: z.string(),
      aggregate: z.string(),
      streamId: z.string(),
      version: z.number().int().describe('Stream version the state is at'),
      lastIndex: z.number().int().nullable().describe('Ledger index of the last event folded'),
      complete: z.boolean().describe('False when a version of the stream is missing from the ledger; the state stops before it'),
      state: z.unknown().describe("The aggregate's state, rebuilt with its service's own evolve function"),
    }),
  ),
});

export const CaseExportView = z
  .object({
    caseId: z.string(),
    treeSize: z.number().int().describe('The tree size every proof is for: the latest signed head'),
    head: TreeHeadView,
    checkpoint: z.string().nullable().describe('The same head as a C2SP checkpoint (signed note), when one was signed'),
    items: z.array(
      z.object({
        index: z.number().int(),
        leafHash: HexHash,
        event: EventEnvelopeSchema.optional().describe('Only where the caller may see the event in full (LEDGER_DISCLOSURE); else the leaf hash alone'),
        auditPath: z.array(HexHash).describe('RFC 9162 PATH of this leaf in the tree of treeSize'),
      }),
    ),
  })
  .meta({ id: 'LedgerCaseExport' });
