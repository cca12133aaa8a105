import { CASE_TIMELINE, RETURN_TIMELINE, routeAccess } from '@trm/contracts';
import type { Db } from '@trm/db';
import { type App, ProblemError, notFound, registerProblemCodes, runIdempotent, sendIdempotent } from '@trm/platform';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { type WebhookSettings, urlRefusal, webhookSettings } from './settings.js';
import { type WebhookSigningKey, webhookJwks } from './signing.js';

registerProblemCodes({
  'webhook-url-refused': {
    status: 422,
    title: 'Webhook URL refused',
    description:
      'The URL must be absolute https:// (http:// is accepted outside NODE_ENV=production), without credentials or fragment. TRM authenticates itself by its signature (GET /v1/webhooks/keys), never by secrets in your URL. Nothing was stored.',
  },
  'too-many-webhooks': {
    status: 422,
    title: 'Too many webhook subscriptions',
    description: 'The organisation holds as many subscriptions as the policy allows (TRM_WEBHOOK_MAX_SUBSCRIPTIONS): delete one first. Nothing was stored.',
  },
});

/** The event types a subscription may name: those the case and return timelines list (reads of personal data are never notified). */
export const WEBHOOK_EVENT_TYPES = [...Object.keys(CASE_TIMELINE).filter((t) => t !== 'PersonalDataAccessed'), ...Object.keys(RETURN_TIMELINE)] as [string, ...string[]];

const WebhookEventType = z.enum(WEBHOOK_EVENT_TYPES);

const CreateWebhookBody = z
  .strictObject({
    url: z.string().min(1).max(2000).describe('Where TRM POSTs the notifications: https:// (http:// outside production), no credentials'),
    events: z.array(WebhookEventType).min(1).max(WEBHOOK_EVENT_TYPES.length).optional().describe('Only these event types; absent: every type your purposes see'),
  })
  .meta({ examples: [{ url: 'https://partner.example.org/trm/webhooks', events: ['NotificationAcknowledged', 'ServiceReferralMade'] }] });

const WebhookView = z.object({
  id: z.string(),
  organisationId: z.string(),
  url: z.string(),
  events: z.array(z.string()).nullable().describe('null: every type the organisation\'s purposes see'),
  createdAt: z.string(),
});

const DeliveryView = z.object({
  id: z.string(),
  service: z.string(),
  eventId: z.string(),
  type: z.string(),
  caseId: z.string().nullable(),
  status: z.enum(['pending', 'delivered', 'dead', 'cancelled']),
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  nextAttemptAt: z.string().nullable().describe('When the next attempt is due (pending only)'),
  deliveredAt: z.string().nullable(),
  createdAt: z.string(),
});

const Jwks = z.object({
  keys: z.array(z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), kid: z.string(), alg: z.literal('EdDSA'), use: z.literal('sig') })),
});

const WebhookParams = z.strictObject({ webhookId: z.uuid() });
const DeliveryParams = z.strictObject({ webhookId: z.uuid(), deliveryId: z.uuid() });
const DeliveriesQuery = z.strictObject({
  status: z.enum(['pending', 'delivered', 'dead', 'cancelled']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export interface WebhookRoutesOptions {
  db: Db;
  env: NodeJS.ProcessEnv;
  key: WebhookSigningKey;
  /** The services whose schemas keep a webhook_deliveries outbox. */
  sources: ReadonlyArray<{ service: string; schema: string }>;
  registrySchema?: string;
  settings?: WebhookSettings;
}

interface SubscriptionRow {
  id: string;
  organisation_id: string;
  url: string;
  event_types: string[] | null;
  created_at: Date | string;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());
const viewOf = (r: SubscriptionRow) => ({ id: r.id, organisationId: r.organisation_id, url: r.url, events: r.event_types, createdAt: iso(r.created_at)! });

/**
 * Webhook subscriptions (docs/integration.md, webhooks), served by the host that serves the
 * registry (referrals): an organisation's `admin` manages its own organisation's subscriptions;
 * someone else's is not found. The deliveries are read from each notifying service's outbox.
 */
export async function registerWebhookRoutes(app: App, opts: WebhookRoutesOptions): Promise<void> {
  const settings = opts.settings ?? webhookSettings(opts.env);
  const registry = opts.registrySchema ?? 'registry';
  const subscriptions = sql.table(`${registry}.webhook_subscriptions`);
  const { db } = opts;
  const r = app.withTypeProvider<ZodTypeProvider>();

  // The outboxes that exist in this database (an embedded host of fewer services has fewer; in
  // distributed mode another service may migrate after this one started: looked for again).
  const found = new Set<string>();
  const sourcesHere = async () => {
    for (const s of opts.sources) {
      if (found.has(s.schema)) continue;
      const { rows } = await sql<{ t: string | null }>`select to_regclass(${`${s.schema}.webhook_deliveries`})::text as t`.execute(db);
      if (rows[0]?.t) found.add(s.schema);
    }
    return opts.sources.filter((s) => found.has(s.schema));
  };

  const ownSubscription = async (webhookId: string, orgId: string): Promise<SubscriptionRow> => {
    const { rows } = await sql<SubscriptionRow>`
      select id, organisation_id, url, event_types, created_at from ${subscriptions}
      where id = ${webhookId} and organisation_id = ${orgId} and deleted_at is null`.execute(db);
    if (!rows[0]) throw notFound('webhook subscription');
    return rows[0];
  };

  r.get(
    '/v1/webhooks/keys',
    {
      config: { access: routeAccess('GET /v1/webhooks/keys') },
      schema: {
        tags: ['webhooks'],
        summary: 'The public keys webhook notifications are signed with (JWKS, Ed25519)',
        description:
          'Every notification carries Standard Webhooks headers: `webhook-id` (the same on every retry), `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature: v1a,<base64 Ed25519 signature of "{webhook-id}.{webhook-timestamp}.{raw body}">`. Verify it with one of these keys (during a rotation two are served: the signing key first, then the next or previous one); refuse timestamps far from your clock.',
        response: { 200: Jwks },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return webhookJwks(opts.key) as z.infer<typeof Jwks>;
    },
  );

  r.post(
    '/v1/webhooks',
    {
      config: { access: routeAccess('POST /v1/webhooks') },
      schema: {
        tags: ['webhooks'],
        summary: 'Subscribe your organisation to signed notifications of its cases',
        description:
          'TRM then POSTs a thin, signed notification (`{id, type, service, caseId, returnId?, occurredAt}`, never data) for each event of the cases your organisation takes part in that your purposes see on the case or return timeline (docs/ACCESS.md, webhooks), except your own acts. Read what happened through the API. Failed deliveries are retried with exponential backoff (GET /v1/webhooks/{webhookId}/deliveries).',
        body: CreateWebhookBody,
        response: { 201: WebhookView },
      },
    },
    async (request, reply) => {
      const { url, events } = request.body;
      const refusal = urlRefusal(url, opts.env);
      if (refusal) throw new ProblemError(422, 'webhook-url-refused', `Refused: ${refusal}.`, { errors: [{ pointer: '/url', in: 'body', code: 'webhook-url-refused', message: refusal }] });
      const orgId = request.principal.orgId;
      const result = await runIdempotent({ db, schema: registry, request }, async (tx) => {
        // One organisation's subscriptions are created one at a time (the limit holds under concurrency).
        await sql`select pg_advisory_xact_lock(hashtextextended(${`webhooks\u001f${orgId}`}, 0))`.execute(tx);
        const { rows: count } = await sql<{ n: string }>`select count(*) as n from ${subscriptions} where organisation_id = ${orgId} and deleted_at is null`.execute(tx);
        if (Number(count[0]?.n ?? 0) >= settings.TRM_WEBHOOK_MAX_SUBSCRIPTIONS) throw new ProblemError(422, 'too-many-webhooks');
        const { rows } = await sql<SubscriptionRow>`
          insert into ${subscriptions} (id, organisation_id, url, event_types, created_by)
          values (${uuidv7()}, ${orgId}, ${new URL(url).toString()}, ${events ? [...new Set(events)] : null}, ${request.principal.subject})
          returning id, organisation_id, url, event_types, created_at`.execute(tx);
        const view = viewOf(rows[0]!);
        return { statusCode: 201, headers: { location: `/v1/webhooks/${view.id}` }, body: view };
      });
      request.log.info({ orgId, webhook: (result.body as { id: string }).id }, 'webhook subscription created');
      return sendIdempotent(reply, result);
    },
  );

  r.get(
    '/v1/webhooks',
    {
      config: { access: routeAccess('GET /v1/webhooks') },
      schema: { tags: ['webhooks'], summary: 'Your organisation\'s webhook subscriptions', response: { 200: z.object({ items: z.array(WebhookView) }) } },
    },
    async (request) => {
      const { rows } = await sql<SubscriptionRow>`
        select id, organisation_id, url, event_types, created_at from ${subscriptions}
        where organisation_id = ${request.principal.orgId} and deleted_at is null order by created_at`.execute(db);
      return { items: rows.map(viewOf) };
    },
  );

  r.delete(
    '/v1/webhooks/:webhookId',
    {
      config: { access: routeAccess('DELETE /v1/webhooks/:webhookId') },
      schema: {
        tags: ['webhooks'],
        summary: 'Stop a webhook subscription (pending deliveries are cancelled)',
        params: WebhookParams,
        response: { 204: z.null().describe('Deleted') },
      },
    },
    async (request, reply) => {
      await ownSubscription(request.params.webhookId, request.principal.orgId);
      await sql`update ${subscriptions} set deleted_at = now() where id = ${request.params.webhookId} and deleted_at is null`.execute(db);
      request.log.info({ orgId: request.principal.orgId, webhook: request.params.webhookId }, 'webhook subscription deleted');
      return reply.code(204).send(null);
    },
  );

  r.get(
    '/v1/webhooks/:webhookId/deliveries',
    {
      config: { access: routeAccess('GET /v1/webhooks/:webhookId/deliveries') },
      schema: {
        tags: ['webhooks'],
        summary: 'The notifications of a subscription: status, attempts, last answer, next attempt',
        params: WebhookParams,
        querystring: DeliveriesQuery,
        response: { 200: z.object({ items: z.array(DeliveryView) }) },
      },
    },
    async (request) => {
      await ownSubscription(request.params.webhookId, request.principal.orgId);
      const { status, limit } = request.query;
      const items: Array<z.infer<typeof DeliveryView>> = [];
      for (const s of await sourcesHere()) {
        const rows = await deliveriesOf(db, s, { subscriptionId: request.params.webhookId, status, limit });
        items.push(...rows);
      }
      items.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
      return { items: items.slice(0, limit) };
    },
  );

  r.post(
    '/v1/webhooks/:webhookId/deliveries/:deliveryId/redelivery',
    {
      config: { access: routeAccess('POST /v1/webhooks/:webhookId/deliveries/:deliveryId/redelivery') },
      schema: {
        tags: ['webhooks'],
        summary: 'Send a notification again (same webhook-id), with a fresh retry policy',
        description: 'Any delivery, whatever its status: it becomes pending and is attempted at once; the attempts and hours of the retry policy count from now.',
        params: DeliveryParams,
        response: { 202: DeliveryView },
      },
    },
    async (request, reply) => {
      await ownSubscription(request.params.webhookId, request.principal.orgId);
      for (const s of await sourcesHere()) {
        const { rows } = await sql<{ id: string }>`
          update ${sql.table(`${s.schema}.webhook_deliveries`)}
          set status = 'pending', next_attempt_at = now(), retry_from = now(), attempts_before_retry = attempts, last_error = null
          where id = ${request.params.deliveryId} and subscription_id = ${request.params.webhookId}
          returning id`.execute(db);
        if (rows[0]) {
          const [view] = await deliveriesOf(db, s, { subscriptionId: request.params.webhookId, deliveryId: rows[0].id, limit: 1 });
          request.log.info({ orgId: request.principal.orgId, webhook: request.params.webhookId, delivery: rows[0].id }, 'webhook redelivery requested');
          return reply.code(202).send(view!);
        }
      }
      throw notFound('delivery');
    },
  );
}

async function deliveriesOf(
  db: Db,
  source: { service: string; schema: string },
  f: { subscriptionId: string; status?: string | undefined; deliveryId?: string; limit: number },
): Promise<Array<z.infer<typeof DeliveryView>>> {
  const { rows } = await sql<{
    id: string;
    event_id: string;
    event_type: string;
    case_id: string | null;
    status: 'pending' | 'delivered' | 'dead' | 'cancelled';
    attempts: number;
    last_status_code: number | null;
    last_error: string | null;
    last_attempt_at: Date | null;
    next_attempt_at: Date;
    delivered_at: Date | null;
    created_at: Date;
  }>`
    select id, event_id, event_type, case_id, status, attempts, last_status_code, last_error, last_attempt_at, next_attempt_at, delivered_at, created_at
    from ${sql.table(`${source.schema}.webhook_deliveries`)}
    where subscription_id = ${f.subscriptionId}
      ${f.status ? sql`and status = ${f.status}` : sql``}
      ${f.deliveryId ? sql`and id = ${f.deliveryId}` : sql``}
    order by created_at desc, id desc limit ${f.limit}`.execute(db);
  return rows.map((r) => ({
    id: r.id,
    service: source.service,
    eventId: r.event_id,
    type: r.event_type,
    caseId: r.case_id,
    status: r.status,
    attempts: r.attempts,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    lastAttemptAt: iso(r.last_attempt_at),
    nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
    deliveredAt: iso(r.delivered_at),
    createdAt: iso(r.created_at)!,
  }));
}
