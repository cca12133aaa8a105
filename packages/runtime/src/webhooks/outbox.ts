import http from 'node:http';
import type { LookupFunction } from 'node:net';
import https from 'node:https';
import { type ConsumerSubscription, startConsumer } from '@trm/bus';
import type { EventEnvelope, ServiceName } from '@trm/contracts';
import { type Kysely, sql, type Transaction } from 'kysely';
import { Counter, Gauge, type Registry } from 'prom-client';
import { v7 as uuidv7 } from 'uuid';
import type { ServiceHost } from '../service-module.js';
import { retryDelayMs, type WebhookSettings, webhookSettings } from './settings.js';
import { loadWebhookSigningKey, signWebhook, type WebhookSigningKey } from './signing.js';
import { allowedHosts, guardedLookup } from './ssrf.js';

/** What a notification is about: where the partner reads what happened. */
export interface WebhookAbout {
  caseId: string;
  returnId?: string;
}

/** The body of every notification: that something happened and where to look, never what (WEBHOOK_PAYLOAD_FIELDS). */
export interface WebhookNotification {
  /** The event's id (the same in every organisation's notification of it). */
  id: string;
  type: string;
  service: ServiceName;
  caseId: string;
  returnId?: string;
  occurredAt: string;
}

/**
 * What a service that notifies decides itself (its access rules): which of its events are
 * notified and what about, who among the subscribed organisations sees each (WEBHOOK_RECIPIENTS),
 * and whether an organisation still takes part in a case when an attempt is made.
 */
export interface WebhookNotifier {
  about(tx: Transaction<any>, envelope: EventEnvelope): WebhookAbout | undefined | Promise<WebhookAbout | undefined>;
  /** Of `candidates` (organisations with a matching subscription, never the acting one), those whose purposes see the event now. */
  audience(tx: Transaction<any>, envelope: EventEnvelope, about: WebhookAbout, candidates: string[]): Promise<Set<string>>;
  takesPart(db: Kysely<any>, about: WebhookAbout, orgId: string): Promise<boolean>;
}

export interface WebhookOutbox {
  consumer: ConsumerSubscription;
  /** Stops the dispatcher, waiting for the attempts in flight. */
  stop(): Promise<void>;
  /** Looks for due deliveries now. */
  wake(): void;
}

export const webhookConsumerName = (service: string) => `${service}-webhooks`;

interface DueRow {
  id: string;
  subscription_id: string;
  organisation_id: string;
  case_id: string | null;
  payload: string;
  url: string | null;
  deleted: boolean | null;
}

function counter(reg: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  return (reg.getSingleMetric(name) as Counter<string> | undefined) ?? new Counter({ name, help, labelNames, registers: [reg] });
}
function gauge(reg: Registry, name: string, help: string, labelNames: string[]): Gauge<string> {
  return (reg.getSingleMetric(name) as Gauge<string> | undefined) ?? new Gauge({ name, help, labelNames, registers: [reg] });
}

/**
 * The webhook outbox of one service: a durable consumer of the service's own events
 * (`<service>-webhooks`, filter `<prefix>.<service>.>`) writes one `webhook_deliveries` row per
 * event and entitled subscription, in the consumer's transaction; a dispatcher loop in every
 * replica claims due rows (FOR UPDATE SKIP LOCKED, then a lease), posts them signed, and records
 * the outcome: 2xx delivered; otherwise retried with exponential backoff and jitter until the
 * policy's attempts or hours are spent (dead), visible in metrics and on the deliveries route.
 */
export async function startWebhookOutbox(
  host: ServiceHost,
  opts: { service: ServiceName; schema: string; notifier: WebhookNotifier; registrySchema?: string; settings?: WebhookSettings; key?: WebhookSigningKey },
): Promise<WebhookOutbox> {
  const settings = opts.settings ?? webhookSettings(host.env);
  const key = opts.key ?? (await loadWebhookSigningKey(host.env));
  const registry = opts.registrySchema ?? 'registry';
  const deliveries = sql.table(`${opts.schema}.webhook_deliveries`);
  const subscriptions = sql.table(`${registry}.webhook_subscriptions`);
  const log = host.app.log;
  const { notifier, service } = opts;
  const db = host.db;
  const attemptsTotal = counter(host.metrics, 'trm_webhook_attempts_total', 'Webhook delivery attempts by outcome (delivered, failed, dead, cancelled).', ['service', 'outcome']);
  const backlog = gauge(host.metrics, 'trm_webhook_deliveries', 'Webhook deliveries pending and dead (given up), per service.', ['service', 'status']);

  let wakeTimer: NodeJS.Timeout | undefined;
  const consumer = await startConsumer({
    db: host.db,
    schema: opts.schema,
    name: webhookConsumerName(service),
    bus: host.bus,
    filterSubject: `${host.bus.subjectsPrefix}.${service}.>`,
    source: host.source,
    logger: log,
    metrics: host.metrics,
    handle: async (tx, envelope) => {
      if (envelope.service !== service) return;
      const about = await notifier.about(tx, envelope);
      if (!about) return;
      const { rows: subs } = await sql<{ id: string; organisation_id: string }>`
        select id, organisation_id from ${subscriptions}
        where deleted_at is null and organisation_id <> ${envelope.metadata.organisation}
          and (event_types is null or ${envelope.type} = any(event_types))`.execute(tx);
      if (subs.length === 0) return;
      const audience = await notifier.audience(tx, envelope, about, [...new Set(subs.map((s) => s.organisation_id))]);
      const notification: WebhookNotification = {
        id: envelope.eventId,
        type: envelope.type,
        service,
        caseId: about.caseId,
        ...(about.returnId ? { returnId: about.returnId } : {}),
        occurredAt: envelope.recordedAt,
      };
      const payload = JSON.stringify(notification);
      for (const s of subs.filter((x) => audience.has(x.organisation_id))) {
        await sql`
          insert into ${deliveries} (id, subscription_id, organisation_id, event_id, event_type, case_id, payload)
          values (${uuidv7()}, ${s.id}, ${s.organisation_id}, ${envelope.eventId}, ${envelope.type}, ${about.caseId}, ${payload})
          on conflict (subscription_id, event_id) do nothing`.execute(tx);
      }
      // After the consumer's commit; the poll finds them anyway.
      clearTimeout(wakeTimer);
      wakeTimer = setTimeout(wake, 50);
    },
  });

  const leaseMs = settings.TRM_WEBHOOK_TIMEOUT_MS + 30_000;
  const allowed = allowedHosts(host.env);
  const claim = async (limit: number): Promise<DueRow[]> => {
    const { rows } = await sql<DueRow>`
      with due as (
        select id from ${deliveries}
        where status = 'pending' and next_attempt_at <= now()
        order by next_attempt_at limit ${limit}
        for update skip locked
      )
      update ${deliveries} d set next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000})
      from due where d.id = due.id
      returning d.id, d.subscription_id, d.organisation_id, d.case_id, d.payload,
        (select s.url from ${subscriptions} s where s.id = d.subscription_id) as url,
        (select s.deleted_at is not null from ${subscriptions} s where s.id = d.subscription_id) as deleted`.execute(db);
    return rows;
  };

  const finish = async (row: DueRow, outcome: { ok: boolean; statusCode?: number; error?: string; cancel?: string; gone?: boolean }): Promise<void> => {
    if (outcome.cancel) {
      await sql`update ${deliveries} set status = 'cancelled', last_error = ${outcome.cancel} where id = ${row.id} and status = 'pending'`.execute(db);
      attemptsTotal.inc({ service, outcome: 'cancelled' });
      return;
    }
    const { rows } = await sql<{ attempts: number; attempts_before_retry: number }>`
      select attempts, attempts_before_retry from ${deliveries} where id = ${row.id}`.execute(db);
    const counted = (rows[0]?.attempts ?? 0) + 1 - (rows[0]?.attempts_before_retry ?? 0);
    const delayMs = retryDelayMs(settings, counted);
    const { rows: done } = await sql<{ status: string }>`
      update ${deliveries} set
        attempts = attempts + 1,
        last_status_code = ${outcome.statusCode ?? null},
        last_error = ${outcome.error ?? null},
        last_attempt_at = now(),
        delivered_at = case when ${outcome.ok} then now() else delivered_at end,
        status = case
          when ${outcome.ok} then 'delivered'
          when ${outcome.gone ?? false} or ${counted} >= ${settings.TRM_WEBHOOK_MAX_ATTEMPTS}
            or now() + make_interval(secs => ${delayMs / 1000}) > retry_from + make_interval(secs => ${settings.TRM_WEBHOOK_MAX_HOURS * 3600}) then 'dead'
          else 'pending' end,
        next_attempt_at = now() + make_interval(secs => ${delayMs / 1000})
      where id = ${row.id}
      returning status`.execute(db);
    const status = done[0]?.status;
    attemptsTotal.inc({ service, outcome: outcome.ok ? 'delivered' : status === 'dead' ? 'dead' : 'failed' });
    if (status === 'dead') log.warn({ service, delivery: row.id, subscription: row.subscription_id, statusCode: outcome.statusCode, err: outcome.error }, 'webhook delivery given up');
  };

  const attempt = async (row: DueRow): Promise<void> => {
    if (!row.url || row.deleted) return finish(row, { ok: false, cancel: 'subscription deleted' });
    const about = JSON.parse(row.payload) as WebhookNotification;
    if (!(await notifier.takesPart(db, { caseId: about.caseId, ...(about.returnId ? { returnId: about.returnId } : {}) }, row.organisation_id))) {
      return finish(row, { ok: false, cancel: 'the organisation no longer takes part in the case' });
    }
    const headers = signWebhook(key, `msg_${row.id.replace(/-/g, '')}`, Math.floor(Date.now() / 1000), row.payload);
    const url = new URL(row.url);
    const answer = await postJson(url, headers, row.payload, settings.TRM_WEBHOOK_TIMEOUT_MS, guardedLookup(url, allowed));
    const ok = answer.statusCode !== undefined && answer.statusCode >= 200 && answer.statusCode < 300;
    await finish(row, { ok, ...answer, gone: answer.statusCode === 410 });
  };

  const active = new Set<Promise<void>>();
  let running = false;
  let again = false;
  let stopped = false;
  async function tick(): Promise<void> {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        for (;;) {
          const free = settings.TRM_WEBHOOK_CONCURRENCY - active.size;
          if (free <= 0 || stopped) break;
          const rows = await claim(free);
          for (const row of rows) {
            const p: Promise<void> = attempt(row)
              .catch((err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err), service, delivery: row.id }, 'webhook attempt failed to record'))
              .finally(() => {
                active.delete(p);
                wake();
              });
            active.add(p);
          }
          if (rows.length < free) break;
        }
      } while (again && !stopped);
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err), service }, 'webhook dispatcher: claiming failed, retrying at the next poll');
    } finally {
      running = false;
    }
  }
  function wake(): void {
    void tick();
  }
  const poll = setInterval(wake, settings.TRM_WEBHOOK_POLL_MS);
  poll.unref();
  const refreshBacklog = async () => {
    const { rows } = await sql<{ status: string; n: string }>`
      select status, count(*) as n from ${deliveries} where status in ('pending', 'dead') group by status`.execute(db);
    for (const status of ['pending', 'dead']) backlog.set({ service, status }, Number(rows.find((r) => r.status === status)?.n ?? 0));
  };
  const gaugeTimer = setInterval(() => void refreshBacklog().catch(() => {}), 15_000);
  gaugeTimer.unref();
  void refreshBacklog().catch(() => {});
  wake();

  return {
    consumer,
    wake,
    async stop() {
      stopped = true;
      clearInterval(poll);
      clearInterval(gaugeTimer);
      clearTimeout(wakeTimer);
      await Promise.allSettled([...active]);
    },
  };
}

/** One POST, redirects not followed (a 3xx is a failure), the whole attempt bounded by `timeoutMs`. */
export function postJson(url: URL, headers: Record<string, string>, body: string, timeoutMs: number, lookup?: LookupFunction): Promise<{ statusCode?: number; error?: string }> {
  return new Promise((resolve) => {
    const client = url.protocol === 'https:' ? https : http;
    let settled = false;
    const settle = (v: { statusCode?: number; error?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(v);
    };
    const req = client.request(url, {
      method: 'POST',
      ...(lookup ? { lookup } : {}),
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'TRM-Webhooks/1' },
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => settle({ statusCode: res.statusCode ?? 0 }));
      res.on('error', () => settle({ statusCode: res.statusCode ?? 0 }));
    });
    req.on('error', (err) => settle({ error: err.message.slice(0, 500) }));
    req.end(body);
  });
}
