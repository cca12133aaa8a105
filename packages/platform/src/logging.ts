import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { LoggerOptions } from 'pino';

/** Field names that hold personal data wherever they appear in a logged object. */
export const PERSONAL_FIELDS = [
  'person',
  'givenName',
  'familyName',
  'otherNames',
  'birthDate',
  'birthPlace',
  'contacts',
  'phone',
  'email',
  'address',
  'narrative',
  'health',
  'documents',
  // The criminal case's reference (proceedings' vault).
  'reference',
];

// pino's redaction has no recursive wildcard, so the paths go three levels deep explicitly.
export const REDACT_PATHS = [
  ...['authorization', 'cookie'].flatMap((h) => [`headers.${h}`, `*.headers.${h}`, `*.*.headers.${h}`]),
  'res.headers["set-cookie"]',
  // pg puts offending values in `detail` ("Key (name)=(…) already exists").
  'err.detail',
  'err.cause.detail',
  ...PERSONAL_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `*.*.*.${f}`]),
];

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function genReqId(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

export function loggerOptions<T extends LoggerOptions>(base: T | false): T | false {
  if (base === false) return false;
  return {
    level: 'info',
    ...base,
    redact: { paths: [...REDACT_PATHS, ...(Array.isArray(base.redact) ? base.redact : (base.redact?.paths ?? []))], censor: '[redacted]' },
    serializers: {
      // Query strings can carry search terms (names); paths carry only ids.
      req: (req: FastifyRequest) => ({ method: req.method, url: req.url.split('?')[0], remoteAddress: req.ip }),
      ...base.serializers,
    },
  };
}
