import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type AccessPurpose, type EventEnvelope, accessPurposesOf, ledgerDiscloses, routeAccess, routePurposes } from '@trm/contracts';
import { ProblemError, decodeCursor, encodeCursor } from '@trm/platform';
import { parseTileIndexPath, vkeyOf } from '@trm/audit';
import type { LedgerContext } from '../context.js';
import { AGGREGATES, replay } from '../domain/aggregate-registry.js';
import {
  type StoredEntry,
  findEntry,
  findEntryByEventId,
  headAt,
  checkpointAt,
  latestCheckpoint,
  latestHead,
  readCaseEntries,
  readEntries,
  readStreamEntriesAsOf,
} from '../repositories/ledger.repository.js';
import {
  CaseExportView,
  CaseIdParams,
  ConsistencyProofView,
  ConsistencyQuery,
  EntriesQuery,
  EntryView,
  EventIdParams,
  HistoryQuery,
  HistoryView,
  InclusionProofView,
  InclusionQuery,
  IndexParams,
  JwksView,
  StateQuery,
  StateView,
  TreeHeadView,
  TreeSizeParams,
} from './ledger.schemas.js';

const TAG = ['ledger'];
/** The access matrix's rule of a route (packages/contracts/src/access-matrix.ts). */
const access = (key: string) => ({ access: routeAccess(key) });
/** The structural routes: auditors and national contact points (issue 6); roles first, organisation type below. */
const LEDGER_ORG_TYPES = new Set(['auditor', 'national_contact_point']);
const CASE_ROUTES = '/v1/ledger/cases/';
/** C2SP tlog-tiles and checkpoints: every registered organisation (the volume of the log, never its content). */
const LOG_ROUTES = '/v1/ledger/log/';
const TILE_WIDTH = 256;
const EXPORT_PAGE = 1000;
const HistoryCursor = z.object({ after: z.number().int().min(-1) });

function rangeProblem(unmet: string[], detail: string): ProblemError {
  return new ProblemError(422, 'invalid-ledger-range', detail, { unmet });
}

/** An entry in full: only for whoever may see the event (LEDGER_DISCLOSURE). */
function entryView(e: StoredEntry): z.infer<typeof EntryView> {
  return { index: e.index, leafHash: e.leafHash, event: JSON.parse(e.eventJson) as EventEnvelope };
}

/** An entry as the structure of the log: its index and leaf hash, nothing of the event. */
function leafView(e: StoredEntry): z.infer<typeof EntryView> {
  return { index: e.index, leafHash: e.leafHash };
}

/** The same answer for a case that does not exist and one the caller does not take part in. */
const noSuchCase = () => new ProblemError(404, 'ledger-entry-not-found', 'The ledger holds no event of this case.');

export async function ledgerRoutes(app: FastifyInstance, ctx: LedgerContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { db, schema, tree } = ctx;

  // Runs after the host's authentication (parent hooks first), before validation: a caller of
  // the wrong kind of organisation learns nothing about what it asked.
  app.addHook('onRequest', async (request) => {
    if (request.is404) return;
    // A case's ledger is its participants' (checked in the route), whatever their type.
    if (request.routeOptions.url?.startsWith(CASE_ROUTES) || request.routeOptions.url?.startsWith(LOG_ROUTES)) return;
    if (!LEDGER_ORG_TYPES.has(request.principal.orgType)) {
      throw new ProblemError(403, 'ledger-access-denied', 'Only auditors and national contact points read the ledger.');
    }
  });

  /**
   * The caller's purposes in the case, from the referrals case file the ledger itself holds
   * (participants as of the latest entry); empty when it does not take part (issue 15, finding 1).
   */
  async function purposesInCase(caseId: string, principal: { orgId: string; orgType: string }): Promise<Set<AccessPurpose>> {
    const kind = AGGREGATES.find((k) => k.service === 'referrals' && k.aggregate === 'case');
    if (!kind) return new Set();
    const entries = await readStreamEntriesAsOf(db, schema, kind.service, `${kind.streamPrefix}${caseId}`, { atIndex: Number.MAX_SAFE_INTEGER });
    if (entries.length === 0) return new Set();
    const result = replay(kind, entries.map((e) => ({ index: e.index, event: JSON.parse(e.eventJson) as EventEnvelope })));
    const participants = ((result.state as { participants?: Array<{ organisationId: string; purpose: string }> }).participants ?? []).filter(
      (p) => p.organisationId === principal.orgId,
    );
    return accessPurposesOf(
      participants.map((p) => p.purpose),
      { lawEnforcement: principal.orgType === 'law_enforcement' },
    );
  }

  /** Refuses a non-participant exactly as an unknown case, a participant of another purpose with 403. */
  async function admit(caseId: string, principal: { orgId: string; orgType: string }, routeKey: string): Promise<Set<AccessPurpose>> {
    const purposes = await purposesInCase(caseId, principal);
    if (purposes.size === 0) throw noSuchCase();
    const allowed = routePurposes(routeKey);
    if (![...purposes].some((p) => allowed.includes(p))) {
      throw new ProblemError(403, 'ledger-access-denied', 'Your purpose in this case does not cover this part of its ledger.');
    }
    return purposes;
  }

  /** The default tree size of proofs and exports: the latest signed head's, else all committed. */
  async function defaultTreeSize(): Promise<number> {
    const head = await latestHead(db, schema);
    return head ? head.treeSize : tree.sync();
  }

  r.get(
    '/v1/ledger/log/checkpoint',
    {
      config: access('GET /v1/ledger/log/checkpoint'),
      schema: {
        tags: TAG,
        summary: 'The latest signed tree head as a C2SP checkpoint (signed note)',
        description:
          'https://c2sp.org/tlog-checkpoint, signed per https://c2sp.org/signed-note with Ed25519; verify it with the key at `/v1/ledger/log/vkey` (e.g. Go `golang.org/x/mod/sumdb/note`). Signed on a schedule: it shows the size of the log, never its content.',
        produces: ['text/plain'],
      },
    },
    async (_request, reply) => {
      const cp = await latestCheckpoint(db, schema);
      if (!cp) throw new ProblemError(404, 'ledger-head-not-found', 'No checkpoint has been signed yet.');
      reply.type('text/plain; charset=utf-8').header('cache-control', 'private, no-cache');
      return reply.send(cp.note);
    },
  );

  r.get(
    '/v1/ledger/log/vkey',
    {
      config: access('GET /v1/ledger/log/vkey'),
      schema: {
        tags: TAG,
        summary: "The log's note verifier key (vkey)",
        description: '`<name>+<key id hex>+<base64(0x01 ‖ Ed25519 public key)>`, as C2SP signed-note and Go `sumdb/note.NewVerifier` take it. The key that signs new checkpoints.',
        produces: ['text/plain'],
      },
    },
    async (_request, reply) => {
      reply.type('text/plain; charset=utf-8');
      return reply.send(`${vkeyOf(ctx.origin, ctx.keys.note.publicKey)}\n`);
    },
  );

  r.get(
    '/v1/ledger/log/tile/*',
    {
      config: access('GET /v1/ledger/log/tile/*'),
      schema: {
        hide: true,
        tags: TAG,
        summary: 'C2SP tlog-tiles hash tiles: tile/<L>/<N>[.p/<W>]',
      },
    },
    async (request, reply) => {
      const rest = (request.params as { '*': string })['*'];
      const m = /^([0-9]|[1-5][0-9]|6[0-3])\/(.+)$/.exec(rest);
      const at = m ? parseTileIndexPath(m[2]!) : null;
      if (!m || !at) {
        // tile/entries/<N> would carry the entries themselves: the ledger serves no content here.
        throw new ProblemError(400, 'validation-failed', 'Not a C2SP hash tile path: tile/<L>/<N>[.p/<W>] (N in 3-digit groups, x-prefixed but the last).', {
          errors: [{ pointer: '/*', in: 'params', code: 'invalid_string', message: 'not a tile path' }],
        });
      }
      const level = Number(m[1]) * 8;
      const width = at.width ?? TILE_WIDTH;
      const start = at.index * TILE_WIDTH;
      if (start + width > (await tree.levelSize(level))) throw new ProblemError(404, 'ledger-entry-not-found', 'This tile does not exist (yet) at this width.');
      reply.type('application/octet-stream');
      // A tile never changes once it exists (a partial one is named by its width).
      reply.header('cache-control', 'private, max-age=31536000, immutable');
      return reply.send(await tree.levelHashes(level, start, width));
    },
  );

  r.get(
    '/v1/ledger/head',
    { config: access('GET /v1/ledger/head'), schema: { tags: TAG, summary: 'The latest signed tree head', response: { 200: TreeHeadView } } },
    async () => {
      const head = await latestHead(db, schema);
      if (!head) throw new ProblemError(404, 'ledger-head-not-found', 'No tree head has been signed yet.');
      return head;
    },
  );

  r.get(
    '/v1/ledger/heads/:treeSize',
    {
      config: access('GET /v1/ledger/heads/:treeSize'),
      schema: { tags: TAG, summary: 'The signed head of one tree size', params: TreeSizeParams, response: { 200: TreeHeadView } },
    },
    async (request) => {
      const head = await headAt(db, schema, request.params.treeSize);
      if (!head) throw new ProblemError(404, 'ledger-head-not-found', 'No head was signed for this tree size.');
      return head;
    },
  );

  r.get(
    '/v1/ledger/jwks.json',
    {
      config: access('GET /v1/ledger/jwks.json'),
      schema: {
        tags: TAG,
        summary: 'Public keys that sign tree heads (JWKS)',
        description: 'Every key ever used stays here after a rotation, so old heads remain verifiable.',
        response: { 200: JwksView },
      },
    },
    async () => ctx.keys.jwks as z.infer<typeof JwksView>,
  );

  r.get(
    '/v1/ledger/entries',
    {
      config: access('GET /v1/ledger/entries'),
      schema: {
        tags: TAG,
        summary: 'Export entries as NDJSON (streamed)',
        description:
          'One canonical JSON object per line: `{"event":…,"index":n,"leafHash":…}`, indexes from `from` (inclusive) to `to` (exclusive). ' +
          'Without `to`, the export ends at the latest signed head, so `trm-audit verify <export> --head <head> --jwks <jwks>` checks it offline.',
        querystring: EntriesQuery,
        produces: ['application/x-ndjson'],
      },
    },
    async (request, reply) => {
      const from = request.query.from;
      const size = await tree.sync();
      const to = request.query.to ?? (await defaultTreeSize());
      const unmet = [...(from > to ? ['from-after-to'] : []), ...(to > size ? ['to-beyond-ledger'] : [])];
      if (unmet.length > 0) throw rangeProblem(unmet, `The ledger holds ${size} entries.`);
      async function* lines(): AsyncGenerator<string> {
        for (let next = from; next < to; ) {
          const page = await readEntries(db, schema, next, to, EXPORT_PAGE);
          if (page.length === 0) return;
          // The structure only (canonical JSON of {index, leafHash}): never an event (issue 15, finding 1).
          yield page.map((e) => `{"index":${e.index},"leafHash":"${e.leafHash}"}\n`).join('');
          next = page[page.length - 1]!.index + 1;
        }
      }
      reply.header('trm-ledger-from', String(from)).header('trm-ledger-to', String(to));
      reply.type('application/x-ndjson; charset=utf-8');
      return reply.send(Readable.from(lines()));
    },
  );

  r.get(
    '/v1/ledger/entries/:index',
    { config: access('GET /v1/ledger/entries/:index'), schema: { tags: TAG, summary: 'One ledger entry', params: IndexParams, response: { 200: EntryView } } },
    async (request) => {
      const entry = await findEntry(db, schema, request.params.index);
      if (!entry) throw new ProblemError(404, 'ledger-entry-not-found', 'No entry has this index.');
      return leafView(entry);
    },
  );

  r.get(
    '/v1/ledger/events/:eventId',
    {
      config: access('GET /v1/ledger/events/:eventId'),
      schema: { tags: TAG, summary: 'The ledger entry of an event', params: EventIdParams, response: { 200: EntryView } },
    },
    async (request) => {
      const entry = await findEntryByEventId(db, schema, request.params.eventId);
      if (!entry) throw new ProblemError(404, 'ledger-entry-not-found', 'No entry holds this event.');
      return leafView(entry);
    },
  );

  r.get(
    '/v1/ledger/entries/:index/inclusion-proof',
    {
      config: access('GET /v1/ledger/entries/:index/inclusion-proof'),
      schema: {
        tags: TAG,
        summary: 'Inclusion proof of an entry (RFC 9162 §2.1.3)',
        description: 'Save it with the head and check it offline: `trm-audit inclusion <proof.json> --head <head.json> --jwks <jwks.json>`.',
        params: IndexParams,
        querystring: InclusionQuery,
        response: { 200: InclusionProofView },
      },
    },
    async (request) => {
      const { index } = request.params;
      const size = await tree.sync();
      const treeSize = request.query.treeSize ?? (await defaultTreeSize());
      const unmet = [...(treeSize > size ? ['tree-size-beyond-ledger'] : []), ...(index >= treeSize ? ['index-beyond-tree-size'] : [])];
      if (unmet.length > 0) throw rangeProblem(unmet, `The ledger holds ${size} entries; the proof needs index < treeSize ≤ ${size}.`);
      const entry = await findEntry(db, schema, index);
      if (!entry) throw new ProblemError(404, 'ledger-entry-not-found', 'No entry has this index.');
      return {
        index,
        treeSize,
        leafHash: entry.leafHash,
        auditPath: (await tree.inclusionProof(index, treeSize)).map((h) => h.toString('hex')),
        rootHash: (await tree.root(treeSize)).toString('hex'),
        // The structure only: a participant takes the event from its case's history.
        entry: null,
        head: (await headAt(db, schema, treeSize)) ?? null,
      };
    },
  );

  r.get(
    '/v1/ledger/consistency-proof',
    {
      config: access('GET /v1/ledger/consistency-proof'),
      schema: {
        tags: TAG,
        summary: 'Consistency proof between two tree sizes (RFC 9162 §2.1.4)',
        description:
          'Shows the newer tree only appends to the older one. Check offline: `trm-audit consistency <proof.json> --previous-head <old.json> --head <new.json> --jwks <jwks.json>`.',
        querystring: ConsistencyQuery,
        response: { 200: ConsistencyProofView },
      },
    },
    async (request) => {
      const size = await tree.sync();
      const first = request.query.first;
      const second = request.query.second ?? (await defaultTreeSize());
      const unmet = [...(first > second ? ['first-after-second'] : []), ...(second > size ? ['tree-size-beyond-ledger'] : [])];
      if (unmet.length > 0) throw rangeProblem(unmet, `The ledger holds ${size} entries; the proof needs first ≤ second ≤ ${size}.`);
      return {
        firstTreeSize: first,
        secondTreeSize: second,
        firstRootHash: (await tree.root(first)).toString('hex'),
        secondRootHash: (await tree.root(second)).toString('hex'),
        proof: (await tree.consistencyProof(first, second)).map((h) => h.toString('hex')),
        firstHead: (await headAt(db, schema, first)) ?? null,
        secondHead: (await headAt(db, schema, second)) ?? null,
      };
    },
  );

  r.get(
    '/v1/ledger/cases/:caseId/history',
    {
      config: access('GET /v1/ledger/cases/:caseId/history'),
      schema: {
        tags: TAG,
        summary: "A case's whole history across services, in ledger order",
        description: 'Every entry whose event names the case (its `data.caseId`), including recorded reads of personal data. Pass `nextCursor` back as `cursor`.',
        params: CaseIdParams,
        querystring: HistoryQuery,
        response: { 200: HistoryView },
      },
    },
    async (request) => {
      const { caseId } = request.params;
      const purposes = await admit(caseId, request.principal, 'GET /v1/ledger/cases/:caseId/history');
      const viewer = { organisationId: request.principal.orgId, purposes };
      const after = request.query.cursor ? decodeCursor(request.query.cursor, HistoryCursor).after : -1;
      const rows = await readCaseEntries(db, schema, caseId, after, request.query.limit + 1);
      const page = rows.slice(0, request.query.limit);
      if (page.length === 0 && after === -1) throw noSuchCase();
      const last = page.at(-1);
      return {
        caseId,
        // All or nothing per event: its hash covers every byte, so a cut event could not be checked.
        items: page.map((e) => {
          const event = JSON.parse(e.eventJson) as EventEnvelope;
          return ledgerDiscloses({ service: event.service, type: event.type, organisation: event.metadata.organisation }, viewer) ? entryView(e) : leafView(e);
        }),
        nextCursor: rows.length > page.length && last ? encodeCursor({ after: last.index }) : null,
      };
    },
  );

  r.get(
    '/v1/ledger/cases/:caseId/export',
    {
      config: access('GET /v1/ledger/cases/:caseId/export'),
      schema: {
        tags: TAG,
        summary: "A case's disclosed export: its entries with inclusion proofs against the latest head",
        description:
          'Every entry of the case up to the latest signed head: the events the caller may see in full, the others as their leaf hash, each with its RFC 9162 audit path; the head and its C2SP checkpoint. It verifies against the same checkpoint as the structural export; a changed byte of an event fails.',
        params: CaseIdParams,
        response: { 200: CaseExportView },
      },
    },
    async (request) => {
      const { caseId } = request.params;
      const purposes = await admit(caseId, request.principal, 'GET /v1/ledger/cases/:caseId/export');
      const viewer = { organisationId: request.principal.orgId, purposes };
      const head = await latestHead(db, schema);
      if (!head) throw noSuchCase();
      const items: z.infer<typeof CaseExportView>['items'] = [];
      for (let after = -1; ; ) {
        const page = (await readCaseEntries(db, schema, caseId, after, EXPORT_PAGE)).filter((e) => e.index < head.treeSize);
        for (const e of page) {
          const event = JSON.parse(e.eventJson) as EventEnvelope;
          const shown = ledgerDiscloses({ service: event.service, type: event.type, organisation: event.metadata.organisation }, viewer);
          const auditPath = (await tree.inclusionProof(e.index, head.treeSize)).map((h) => h.toString('hex'));
          items.push({ index: e.index, leafHash: e.leafHash, ...(shown ? { event } : {}), auditPath });
        }
        if (page.length < EXPORT_PAGE) break;
        after = page[page.length - 1]!.index;
      }
      const checkpoint = await checkpointAt(db, schema, head.treeSize);
      return { caseId, treeSize: head.treeSize, head, checkpoint: checkpoint ?? null, items };
    },
  );

  r.get(
    '/v1/ledger/cases/:caseId/state',
    {
      config: access('GET /v1/ledger/cases/:caseId/state'),
      schema: {
        tags: TAG,
        summary: "A case's aggregates as of a ledger index or an instant",
        description:
          "Each aggregate of the case (referrals' case file; others as their services land) rebuilt from the ledger with its service's own evolve function. Give exactly one of `atIndex` and `asOf`.",
        params: CaseIdParams,
        querystring: StateQuery,
        response: { 200: StateView },
      },
    },
    async (request) => {
      const { caseId } = request.params;
      const { atIndex, asOf } = request.query;
      if ((atIndex === undefined) === (asOf === undefined)) {
        throw rangeProblem([atIndex === undefined ? 'as-of-required' : 'as-of-ambiguous'], 'Give exactly one of atIndex and asOf.');
      }
      await admit(caseId, request.principal, 'GET /v1/ledger/cases/:caseId/state');
      const bound = atIndex !== undefined ? { atIndex } : { at: new Date(asOf!).toISOString() };
      const aggregates = [];
      for (const kind of AGGREGATES) {
        const streamId = `${kind.streamPrefix}${caseId}`;
        const entries = await readStreamEntriesAsOf(db, schema, kind.service, streamId, bound);
        if (entries.length === 0) continue;
        const result = replay(kind, entries.map((e) => ({ index: e.index, event: JSON.parse(e.eventJson) as EventEnvelope })));
        aggregates.push({
          service: kind.service,
          aggregate: kind.aggregate,
          streamId,
          version: result.version,
          lastIndex: result.lastIndex,
          complete: result.complete,
          state: result.state,
        });
      }
      return { caseId, atIndex: atIndex ?? null, asOf: asOf ?? null, aggregates };
    },
  );
}
