/** `make run`: every service in one process on embedded PGlite, data under ./.data. */
import { loadOrCreateDevKey, serve, signToken } from '@trm/platform';
import { ConfigError, createEmbeddedHost } from '@trm/runtime';
import { MODULES } from './modules.js';

const host = await createEmbeddedHost(MODULES).catch((err: unknown) => {
  // A bad setting, or NODE_ENV=production refusing the development key and demo organisations.
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
});
const { config } = host;
const port = config.PORT ?? 8080;
await serve(host.app, { port, host: config.HOST });
const base = `http://${config.HOST}:${port}`;

const lines = [
  '',
  `TRM is running on ${base} (embedded: PGlite in ${config.dataDir}, in-process bus, NODE_ENV=${config.NODE_ENV ?? 'unset'})`,
  `  OpenAPI: ${base}/openapi.json   docs: ${base}/docs`,
];
if (!config.JWKS_URL && !config.JWKS_FILE) {
  const key = await loadOrCreateDevKey(config.dataDir);
  const token = await signToken(key, {
    org: 'anitp',
    orgType: 'national_contact_point',
    roles: ['case_officer'],
    sub: 'demo-anitp-officer',
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  });
  lines.push('  A token for an ANITP case officer (8 h):', `  ${token}`, '  More: npm run -s token -- --org ngo-it --roles notifier,case_officer');
}
process.stdout.write(`${lines.join('\n')}\n\n`);
