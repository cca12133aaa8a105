import { z } from 'zod';

/** Services that own an event store and publish on the bus. */
export const ServiceName = z.enum(['referrals', 'repatriation', 'proceedings', 'statistics', 'ledger']);
export type ServiceName = z.infer<typeof ServiceName>;

export const EventMetadataSchema = z.object({
  actor: z.string(),
  organisation: z.string(),
  correlationId: z.string(),
  causationId: z.string().nullable(),
  requestId: z.string().nullable(),
});

/**
 * What travels on NATS for every stored event: the event as recorded, plus the service that
 * owns it. Data never holds personal data (the vault keeps that), so an envelope is safe to log
 * by id and to keep in the ledger.
 */
export const EventEnvelopeSchema = z.object({
  service: ServiceName,
  eventId: z.string(),
  type: z.string(),
  schemaVersion: z.number().int().positive(),
  streamId: z.string(),
  streamVersion: z.number().int().positive(),
  globalPosition: z.string(),
  transactionId: z.string(),
  data: z.record(z.string(), z.unknown()),
  metadata: EventMetadataSchema,
  recordedAt: z.string(),
  prevHash: z.string().nullable(),
  hash: z.string(),
});
export type EventEnvelope = z.infer<typeof EventEnvelopeSchema>;

/** `CaseNotified` → `case-notified`. */
export function kebabCase(type: string): string {
  return type.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z])([A-Z][a-z])/g, '$1-$2').toLowerCase();
}

/** NATS subject of an event: `trm.<service>.<event in lower-kebab>`. */
export function subjectFor(service: ServiceName, type: string): string {
  return `trm.${service}.${kebabCase(type)}`;
}
