/**
 * `npm run -s token -- --org <id> --roles <role,...> [--sub <user>] [--ttl <seconds>]` prints only a
 * token signed by the development key in the data folder. Refused when a JWKS URL or file is
 * configured (then tokens come from the identity provider, and a dev token would not verify) and
 * with NODE_ENV=production. The production image (Dockerfile) does not contain it.
 */
import { parseArgs } from 'node:util';
import { ALL_ROLES, loadOrCreateDevKey, signToken, type Role } from '@trm/platform';
import { loadHostConfig } from '@trm/runtime';
import { DEMO_ORGANISATION_TYPES } from './demo.js';

const fail = (msg: string): never => {
  process.stderr.write(`token: ${msg}\n`);
  process.exit(2);
};

const { values } = parseArgs({
  options: { org: { type: 'string' }, roles: { type: 'string' }, sub: { type: 'string' }, ttl: { type: 'string' }, 'org-type': { type: 'string' } },
  strict: true,
});
const config = loadHostConfig();
// The production image does not ship this command; a copy run there anyway refuses too.
if (config.NODE_ENV === 'production') fail('NODE_ENV=production: tokens come from your identity provider, never from a development key.');
if (config.JWKS_URL || config.JWKS_FILE) fail('a JWKS is configured (JWKS_URL/JWKS_FILE): get tokens from your identity provider.');
if (!values.org) fail('--org <organisation id> is required, e.g. --org ngo-it');
const org = values.org!;
const roles = (values.roles ?? '').split(',').filter(Boolean);
if (roles.length === 0) fail(`--roles is required, one or more of: ${ALL_ROLES.join(', ')}`);
const unknown = roles.filter((r) => !(ALL_ROLES as readonly string[]).includes(r));
if (unknown.length > 0) fail(`unknown role(s) ${unknown.join(', ')}; roles are: ${ALL_ROLES.join(', ')}`);
const orgType = values['org-type'] ?? DEMO_ORGANISATION_TYPES[org];
if (!orgType) fail(`organisation ${org} is not a demo organisation: pass --org-type too`);
const ttl = values.ttl ? Number(values.ttl) : 8 * 3600;
if (!Number.isInteger(ttl) || ttl <= 0 || ttl > 7 * 86400) fail('--ttl must be whole seconds, at most 7 days');

const key = await loadOrCreateDevKey(config.dataDir);
const token = await signToken(key, {
  org,
  orgType: orgType as never,
  roles: roles as Role[],
  sub: values.sub ?? `demo-${org}-user`,
  issuer: config.JWT_ISSUER,
  audience: config.JWT_AUDIENCE,
  ttlSeconds: ttl,
});
process.stdout.write(`${token}\n`);
