import { createPublicKey } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPgDb, migrate } from '@trm/db';
import { createTestDatabase, type TestDatabase } from '@trm/testing';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { SignJWT, base64url, exportJWK, generateKeyPair, type JWK } from 'jose';
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type App,
  type DevKey,
  createApp,
  createOrgDirectory,
  decodeCursor,
  devJwks,
  encodeCursor,
  loadOrCreateDevKey,
  pageQuery,
  parseIfMatch,
  registryRoutes,
  runIdempotent,
  seedDemoOrganisations,
  sendIdempotent,
  signToken,
  type OrgType,
  type Role,
} from './index.js';

const ISSUER = 'https://trm.test/issuer';
const AUDIENCE = 'trm-api';
const SECRET = 'Ionela-Secret-Value-7731';

const ThingBody = z
  .strictObject({
    name: z.string().min(1).max(50),
    person: z.strictObject({ givenName: z.string().min(1), birthDate: z.iso.date() }).optional(),
    delayMs: z.number().int().min(0).max(3000).optional(),
  })
  .meta({ examples: [{ name: 'example-thing-name' }] });

function fakeService(db: Kysely<any>): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/v1/ping', { config: { access: { public: true } } }, async () => ({ pong: true }));
    app.get('/v1/secret', { config: { access: { roles: ['case_officer'] } } }, async (request) => ({
      org: request.principal.orgId,
      country: request.principal.country,
    }));
    app.post(
      '/v1/things',
      {
        config: { access: { roles: ['notifier', 'case_officer'] } },
        schema: { body: ThingBody, response: { 201: z.object({ id: z.number(), name: z.string() }) } },
      },
      async (request, reply) => {
        const result = await runIdempotent({ db, schema: 'svc', request }, async (tx) => {
          if (request.body.delayMs) await sql`select pg_sleep(${request.body.delayMs / 1000})`.execute(tx);
          const row = await tx
            .withSchema('svc')
            .insertInto('things')
            .values({ org_id: request.principal.orgId, name: request.body.name })
            .returning(['id', 'name'])
            .executeTakeFirstOrThrow();
          return { statusCode: 201, headers: { location: `/v1/things/${row.id}` }, body: row };
        });
        return sendIdempotent(reply, result);
      },
    );
    app.put(
      '/v1/things/:id/version',
      { config: { access: { roles: ['case_officer'] } }, schema: { params: z.strictObject({ id: z.coerce.number().int() }) } },
      async (request) => ({ version: parseIfMatch(request) ?? null }),
    );
    app.get(
      '/v1/things',
      { config: { access: { roles: ['case_officer'] } }, schema: { querystring: pageQuery } },
      async (request) => ({
        limit: request.query.limit,
        after: request.query.cursor ? decodeCursor(request.query.cursor, z.strictObject({ after: z.number() })).after : null,
      }),
    );
    app.get('/v1/boom', { config: { access: { public: true } } }, async () => {
      throw new Error(`select * from svc.things where name = '${SECRET}'`);
    });
  };
}

let tdb: TestDatabase;
let db: Kysely<any>;
let pool: pg.Pool;
let dir: string;
let key: DevKey;
let app: App;
let flaky = false;

async function token(org: string, orgType: OrgType, roles: Role[], extra: { issuer?: string; audience?: string; ttlSeconds?: number } = {}) {
  return signToken(key, { org, orgType, roles, issuer: extra.issuer ?? ISSUER, audience: extra.audience ?? AUDIENCE, ttlSeconds: extra.ttlSeconds });
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const officer = () => token('anitp', 'national_contact_point', ['case_officer']);

async function writeJwks(file: string, keys: JWK[]) {
  // Atomic replacement, as the auth module's documentation asks.
  await writeFile(`${file}.tmp`, JSON.stringify({ keys }));
  await rename(`${file}.tmp`, file);
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  ({ db, pool } = createPgDb(tdb.url, { max: 6 }));
  await migrate(db, { schema: 'svc' });
  // As the hosts migrate it (runtime's migrateAll): reference data, without the common tables.
  await migrate(db, { schema: 'registry', common: false });
  await sql`create table svc.things (id serial primary key, org_id text not null, name text not null)`.execute(db);
  await seedDemoOrganisations(db);
  await db
    .withSchema('registry')
    .insertInto('organisations')
    .values({ id: 'ngo-closed', type: 'ngo', country: 'IT', name: 'Closed NGO', active: false })
    .execute();

  dir = await mkdtemp(path.join(tmpdir(), 'trm-platform-'));
  key = await loadOrCreateDevKey(dir);
  const jwksFile = path.join(dir, 'jwks.json');
  await writeJwks(jwksFile, devJwks(key).keys);

  const orgs = createOrgDirectory(db, { cacheTtlMs: 0 });
  app = await createApp({
    logger: false,
    auth: { jwks: { file: jwksFile, checkIntervalMs: 0 }, issuer: ISSUER, audience: AUDIENCE },
    orgs,
    readiness: [
      { name: 'database', check: async () => void (await sql`select 1`.execute(db)) },
      { name: 'flaky', check: async () => {
          if (flaky) throw new Error('down');
        } },
    ],
    bodyLimit: 4096,
    openapi: { title: 'Test API', version: '0.0.1', description: 'platform tests' },
  });
  await app.register(fakeService(db));
  await app.register(registryRoutes, { db, directory: orgs });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await db?.destroy();
  await tdb?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('start-up', () => {
  it('refuses to start when a route declares no access rule, naming it', async () => {
    const bare = await createApp({
      logger: false,
      auth: { jwks: { keys: devJwks(key).keys }, issuer: ISSUER, audience: AUDIENCE },
      orgs: createOrgDirectory(db),
      openapi: { title: 't', version: '1' },
    });
    // Not awaited: the failure must surface from ready(), where every service start-up ends.
    void bare.register(async (a) => {
      a.get('/v1/forgotten', async () => 'open');
    });
    await expect(bare.ready()).rejects.toThrow(/GET \/v1\/forgotten declares no access rule/);
  });

  it('shares one registry read between concurrent misses, and none after an invalidation', async () => {
    let reads = 0;
    const counted = db.withPlugin({ transformQuery: (args) => (reads++, args.node), transformResult: async (args) => args.result });
    const dir = createOrgDirectory(counted);
    const [a, b, c] = await Promise.all([dir.get('anitp'), dir.get('anitp'), dir.get('anitp')]);
    expect(a).toBeDefined();
    expect([b, c]).toEqual([a, a]);
    const lists = await Promise.all([dir.nationalContactPoints('RO'), dir.nationalContactPoints('RO')]);
    expect(lists[1]).toEqual(lists[0]);
    expect(reads).toBe(2);
    dir.invalidate();
    await dir.get('anitp');
    expect(reads).toBe(3);
  });

  it('seeds the demo organisations only into an empty registry', async () => {
    expect(await seedDemoOrganisations(db)).toBe(0);
    const ncp = await createOrgDirectory(db).nationalContactPoints('RO');
    expect(ncp.map((o) => o.id).sort()).toEqual(['anitp', 'anitp-rc-bucharest']);
  });
});

describe('authentication', () => {
  const secret = (headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: '/v1/secret', headers });

  it('lets a valid token through and exposes the principal', async () => {
    const res = await secret(bearer(await officer()));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ org: 'anitp', country: 'RO' });
  });

  it('refuses a request without a token', async () => {
    const res = await secret();
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'unauthenticated', status: 401, type: '/problems/unauthenticated' });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it.each([
    ['expired', { ttlSeconds: -120 }],
    ['wrong audience', { audience: 'someone-else' }],
    ['wrong issuer', { issuer: 'https://evil.test' }],
  ])('refuses a token with %s', async (_what, extra) => {
    const res = await secret(bearer(await token('anitp', 'national_contact_point', ['case_officer'], extra)));
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid-token');
  });

  it('refuses an unsigned alg:none token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const enc = (o: object) => base64url.encode(JSON.stringify(o));
    const t = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: 'x', org: 'anitp', org_type: 'national_contact_point', roles: ['case_officer'], iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600 })}.`;
    const res = await secret(bearer(t));
    expect(res.statusCode).toBe(401);
  });

  it('refuses an HS256 token keyed with the public key (algorithm confusion)', async () => {
    const pem = createPublicKey({ key: key.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const t = await new SignJWT({ org: 'anitp', org_type: 'national_contact_point', roles: ['case_officer'] })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .setSubject('x')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(pem as string));
    const res = await secret(bearer(t));
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid-token');
  });

  it('refuses a token without a subject', async () => {
    const t = await new SignJWT({ org: 'anitp', org_type: 'national_contact_point', roles: ['case_officer'] })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key.privateKey);
    expect((await secret(bearer(t))).statusCode).toBe(401);
  });

  it.each([
    ['an unknown organisation', 'ngo-nowhere', 'ngo'],
    ['an inactive organisation', 'ngo-closed', 'ngo'],
    ['an org_type that differs from the registry', 'ngo-it', 'consulate'],
  ] as const)('refuses a token of %s', async (_what, org, orgType) => {
    const res = await secret(bearer(await token(org, orgType, ['case_officer'])));
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('unknown-organisation');
  });

  it('answers 403 when no role of the caller is allowed', async () => {
    const res = await secret(bearer(await token('ngo-it', 'ngo', ['notifier'])));
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('forbidden');
  });

  it('serves public routes without a token', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/ping' })).json()).toEqual({ pong: true });
  });
});

describe('problems', () => {
  it('answers an unknown route with a problem+json 404 and echoes a sane request id', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/nothing-here', headers: { 'x-request-id': 'req-12345678' } });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['x-request-id']).toBe('req-12345678');
    expect(res.json()).toMatchObject({ type: '/problems/not-found', code: 'not-found', status: 404, requestId: 'req-12345678' });
  });

  it('replaces an unsafe request id', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/ping', headers: { 'x-request-id': 'a b<script>' } });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('lists a JSON pointer per invalid field without echoing the submitted values', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: bearer(await officer()),
      payload: { name: 12345, person: { givenName: SECRET, birthDate: `${SECRET}-1990` } },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('validation-failed');
    expect(body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/name', '/person/birthDate']);
    expect(body.errors[0]).toMatchObject({ in: 'body' });
    expect(res.body).not.toContain(SECRET);
    expect(res.body).not.toContain('12345');
  });

  it('refuses unknown fields, pointing at each', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: bearer(await officer()),
      payload: { name: 'ok', nickname: SECRET, person: { givenName: 'A', birthDate: '1990-01-01', 'a/b': 1 } },
    });
    expect(res.statusCode).toBe(400);
    const errors = res.json().errors as Array<{ pointer: string; code: string }>;
    expect(errors.map((e) => e.pointer).sort()).toEqual(['/nickname', '/person/a~1b']);
    expect(errors.every((e) => e.code === 'unrecognized_key')).toBe(true);
    expect(res.body).not.toContain(SECRET);
  });

  it('points into the query string too', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/things?limit=500', headers: bearer(await officer()) });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([expect.objectContaining({ pointer: '/limit', in: 'query', code: 'too_big' })]);
  });

  it('answers malformed JSON with 400 without quoting it', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: { ...bearer(await officer()), 'content-type': 'application/json' },
      payload: `{"name": "${SECRET}",`,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('malformed-json');
    expect(res.body).not.toContain(SECRET);
  });

  it('answers an unsupported media type with 415', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: { ...bearer(await officer()), 'content-type': 'application/xml' },
      payload: '<thing/>',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('unsupported-media-type');
  });

  it('answers a body over the limit with 413', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: bearer(await officer()),
      payload: { name: 'x'.repeat(5000) },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('payload-too-large');
  });

  it('hides the cause of a 500', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ code: 'internal-error', status: 500 });
    expect(res.body).not.toContain(SECRET);
    expect(res.body).not.toMatch(/select|stack|at /i);
  });

  it('serves the description of each problem code as JSON and HTML', async () => {
    const json = await app.inject({ method: 'GET', url: '/problems/idempotency-key-reused' });
    expect(json.json()).toMatchObject({ code: 'idempotency-key-reused', status: 422 });
    const html = await app.inject({ method: 'GET', url: '/problems/organisation-exists', headers: { accept: 'text/html' } });
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('Organisation already registered');
    expect((await app.inject({ method: 'GET', url: '/problems/no-such-code' })).statusCode).toBe(404);
  });
});

describe('idempotency', () => {
  const post = async (payload: object, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/v1/things', headers, payload });
  const count = async (name: string) =>
    Number((await db.withSchema('svc').selectFrom('things').select((eb) => eb.fn.countAll().as('n')).where('name', '=', name).executeTakeFirstOrThrow()).n);

  it('replays the first answer for the same key and body, writing once', async () => {
    const headers = { ...bearer(await officer()), 'idempotency-key': 'key-replay-1' };
    const first = await post({ name: 'replayed', person: { birthDate: '1990-01-01', givenName: 'A' } }, headers);
    // Same body with keys in another order: the hash is over canonical JSON.
    const second = await post({ person: { givenName: 'A', birthDate: '1990-01-01' }, name: 'replayed' }, headers);
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(second.headers.location).toBe(first.headers.location);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await count('replayed')).toBe(1);
  });

  it('refuses the same key with another body with 422', async () => {
    const headers = { ...bearer(await officer()), 'idempotency-key': 'key-reused-1' };
    expect((await post({ name: 'reused-a' }, headers)).statusCode).toBe(201);
    const res = await post({ name: 'reused-b' }, headers);
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('idempotency-key-reused');
    expect(await count('reused-b')).toBe(0);
  });

  it('lets one of two concurrent requests with one key through and answers the other 409', async () => {
    const headers = { ...bearer(await officer()), 'idempotency-key': 'key-concurrent-1' };
    const results = await Promise.all([post({ name: 'concurrent', delayMs: 800 }, headers), post({ name: 'concurrent', delayMs: 800 }, headers)]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.statusCode === 409)!.json().code).toBe('idempotency-key-in-use');
    expect(await count('concurrent')).toBe(1);
  });

  it('rolls the work back with 409 when the same key completed between the lookup and the answer', async () => {
    // The lock and the lookup are one statement, whose snapshot predates the lock: a request with
    // the same key that commits in that instant is simulated here by committing its answer from
    // another connection while the work runs.
    const request = {
      method: 'POST',
      url: '/v1/things',
      body: { name: 'raced' },
      headers: { 'idempotency-key': 'key-raced-1' },
      principal: { orgId: 'anitp' },
    } as unknown as Parameters<typeof runIdempotent>[0]['request'];
    const run = runIdempotent({ db, schema: 'svc', request }, async (tx) => {
      await tx.withSchema('svc').insertInto('things').values({ org_id: 'anitp', name: 'raced' }).execute();
      await db
        .withSchema('svc')
        .insertInto('idempotency_keys')
        .values({ org_id: 'anitp', key: 'key-raced-1', request_hash: 'x', status_code: 201, headers: '{}', body: '{}' })
        .execute();
      return { statusCode: 201, body: { ok: true } };
    });
    await expect(run).rejects.toMatchObject({ status: 409, code: 'idempotency-key-in-use' });
    expect(await count('raced')).toBe(0);
  });

  it('scopes keys to the organisation', async () => {
    const a = await post({ name: 'scoped' }, { ...bearer(await officer()), 'idempotency-key': 'shared-key' });
    const b = await post({ name: 'scoped' }, { ...bearer(await token('ngo-it', 'ngo', ['notifier'])), 'idempotency-key': 'shared-key' });
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(a.json().id).not.toBe(b.json().id);
    expect(await count('scoped')).toBe(2);
  });

  it('runs without a key, and refuses a malformed key', async () => {
    expect((await post({ name: 'no-key' }, bearer(await officer()))).statusCode).toBe(201);
    const res = await post({ name: 'bad-key' }, { ...bearer(await officer()), 'idempotency-key': 'k'.repeat(256) });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('invalid-idempotency-key');
  });
});

describe('HTTP helpers', () => {
  const version = async (ifMatch?: string) =>
    app.inject({ method: 'PUT', url: '/v1/things/1/version', headers: { ...bearer(await officer()), ...(ifMatch ? { 'if-match': ifMatch } : {}) } });

  it('parses If-Match into a stream version', async () => {
    expect((await version('"7"')).json()).toEqual({ version: 7 });
    expect((await version()).json()).toEqual({ version: null });
    for (const bad of ['W/"7"', '"7", "8"', '7', '"abc"', '*']) {
      const res = await version(bad);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().code).toBe('invalid-if-match');
    }
  });

  it('round-trips cursors and refuses forged ones', async () => {
    const ok = await app.inject({ method: 'GET', url: `/v1/things?cursor=${encodeCursor({ after: 42 })}`, headers: bearer(await officer()) });
    expect(ok.json()).toEqual({ limit: 25, after: 42 });
    const bad = await app.inject({ method: 'GET', url: `/v1/things?cursor=${encodeCursor({ after: 'x' })}`, headers: bearer(await officer()) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('invalid-cursor');
  });
});

describe('operations', () => {
  it('reports readiness and names the failing check', async () => {
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    flaky = true;
    try {
      const res = await app.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'not-ready', failed: ['flaky'] });
    } finally {
      flaky = false;
    }
  });

  it('exposes the request histogram labelled by route pattern, to the registry operator\'s operators', async () => {
    await app.inject({ method: 'PUT', url: '/v1/things/987654/version', headers: bearer(await officer()) });
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: bearer(await token('anitp', 'national_contact_point', ['operator'])) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toContain('# TYPE http_request_duration_seconds histogram');
    expect(res.body).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/v1\/things\/:id\/version"/);
    expect(res.body).not.toContain('987654');
  });

  it('refuses /metrics without a token, to other roles and to operators of other organisations', async () => {
    const anonymous = await app.inject({ method: 'GET', url: '/metrics' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(anonymous.body).not.toContain('http_request_duration_seconds');
    for (const [org, type, roles] of [
      ['anitp', 'national_contact_point', ['case_officer', 'admin', 'auditor']],
      ['ngo-it', 'ngo', ['operator']],
      ['anitp-rc-bucharest', 'national_contact_point', ['operator']],
    ] as const) {
      const res = await app.inject({ method: 'GET', url: '/metrics', headers: bearer(await token(org, type, [...roles])) });
      expect(res.statusCode, `${org} ${roles.join()}`).toBe(403);
      expect(res.json()).toMatchObject({ code: 'forbidden', status: 403 });
      expect(res.body).not.toContain('http_request_duration_seconds');
    }
  });

  it('publishes an OpenAPI 3.1 document with the routes, their examples and the bearer scheme', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/v1/things'].post).toBeDefined();
    expect(doc.paths['/v1/organisations'].post).toBeDefined();
    expect(doc.paths['/v1/ping'].get.security).toEqual([]);
    expect(doc.paths['/health/ready']).toBeUndefined();
    const text = JSON.stringify(doc);
    expect(text).toContain('example-thing-name');
    expect(text).toContain('anitp-rc-iasi');
    expect((await app.inject({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);
  });
});

describe('organisation registry', () => {
  it('lets an admin register and deactivate an organisation, whose tokens then stop working', async () => {
    const admin = bearer(await token('anitp', 'national_contact_point', ['admin']));
    const created = await app.inject({
      method: 'POST',
      url: '/v1/organisations',
      headers: admin,
      payload: { id: 'ngo-es', type: 'ngo', country: 'ES', name: 'NGO Spain' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe('/v1/organisations/ngo-es');
    const dup = await app.inject({ method: 'POST', url: '/v1/organisations', headers: admin, payload: { id: 'ngo-es', type: 'ngo', country: 'ES', name: 'Again' } });
    expect(dup.json().code).toBe('organisation-exists');

    const ngoToken = bearer(await token('ngo-es', 'ngo', ['notifier']));
    expect((await app.inject({ method: 'GET', url: '/v1/organisations', headers: ngoToken })).statusCode).toBe(200);
    const patched = await app.inject({ method: 'PATCH', url: '/v1/organisations/ngo-es', headers: admin, payload: { active: false } });
    expect(patched.json()).toMatchObject({ id: 'ngo-es', active: false });
    expect((await app.inject({ method: 'GET', url: '/v1/organisations', headers: ngoToken })).statusCode).toBe(401);
  });

  it('refuses registry changes to non-admins and unknown parents', async () => {
    const officerHeaders = bearer(await officer());
    const res = await app.inject({ method: 'POST', url: '/v1/organisations', headers: officerHeaders, payload: { id: 'x-org', type: 'ngo', country: 'ES', name: 'X' } });
    expect(res.statusCode).toBe(403);
    const admin = bearer(await token('anitp', 'national_contact_point', ['admin']));
    const orphan = await app.inject({ method: 'POST', url: '/v1/organisations', headers: admin, payload: { id: 'rc-x', type: 'national_contact_point', country: 'RO', name: 'RC', parentId: 'nope-org' } });
    expect(orphan.statusCode).toBe(422);
    const empty = await app.inject({ method: 'PATCH', url: '/v1/organisations/anitp', headers: admin, payload: {} });
    expect(empty.statusCode).toBe(400);
    expect((await app.inject({ method: 'PATCH', url: '/v1/organisations/ghost-org', headers: admin, payload: { active: true } })).statusCode).toBe(404);
  });
});

describe('registry administration', () => {
  const count = async (id: string) =>
    Number((await db.withSchema('registry').selectFrom('organisations').select((eb) => eb.fn.countAll().as('n')).where('id', '=', id).executeTakeFirstOrThrow()).n);

  it('refuses an admin of a partner organisation that registers a national contact point, with 403, writing nothing', async () => {
    for (const [org, type] of [['ngo-it', 'ngo'], ['anitp-rc-bucharest', 'national_contact_point']] as const) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/organisations',
        headers: { ...bearer(await token(org, type, ['admin'])), 'idempotency-key': `rogue-${org}` },
        payload: { id: `rogue-ncp-${org}`, type: 'national_contact_point', country: 'RO', name: 'ANITP Regional Centre (rogue)', parentId: 'anitp' },
      });
      expect(res.statusCode, org).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'forbidden', status: 403 });
      expect(await count(`rogue-ncp-${org}`)).toBe(0);
    }
  });

  it('refuses an admin of a partner organisation that deactivates ANITP, with 403, changing nothing', async () => {
    const before = await db.withSchema('registry').selectFrom('organisations').selectAll().where('id', '=', 'anitp').executeTakeFirstOrThrow();
    const res = await app.inject({ method: 'PATCH', url: '/v1/organisations/anitp', headers: bearer(await token('ngo-it', 'ngo', ['admin'])), payload: { active: false } });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('forbidden');
    const after = await db.withSchema('registry').selectFrom('organisations').selectAll().where('id', '=', 'anitp').executeTakeFirstOrThrow();
    expect(after).toEqual(before);
    // ANITP's own tokens still work.
    expect((await app.inject({ method: 'GET', url: '/v1/secret', headers: bearer(await officer()) })).statusCode).toBe(200);
  });

  it('refuses a partner admin before looking at the body (no validation answer to tune against)', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/organisations', headers: bearer(await token('ngo-it', 'ngo', ['admin'])), payload: { nonsense: true } });
    expect(res.statusCode).toBe(403);
  });

  it('replays an organisation registered with an Idempotency-Key instead of failing, registering it once', async () => {
    const headers = { ...bearer(await token('anitp', 'national_contact_point', ['admin'])), 'idempotency-key': 'register-ngo-fr-1' };
    const payload = { id: 'ngo-fr', type: 'ngo', country: 'FR', name: 'NGO France' };
    const first = await app.inject({ method: 'POST', url: '/v1/organisations', headers, payload });
    expect(first.statusCode, first.body).toBe(201);
    const again = await app.inject({ method: 'POST', url: '/v1/organisations', headers, payload });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    const other = await app.inject({ method: 'POST', url: '/v1/organisations', headers, payload: { ...payload, name: 'Another name' } });
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('idempotency-key-reused');
    expect(await count('ngo-fr')).toBe(1);
  });

  it('takes the registry operators from configuration', async () => {
    const custom = await createApp({
      logger: false,
      auth: { jwks: { keys: devJwks(key).keys }, issuer: ISSUER, audience: AUDIENCE },
      orgs: createOrgDirectory(db, { cacheTtlMs: 0 }),
      registryOperators: ['iom-it'],
      openapi: { title: 't', version: '1' },
    });
    await custom.register(registryRoutes, { db });
    await custom.ready();
    try {
      const patch = (t: string) => custom.inject({ method: 'PATCH', url: '/v1/organisations/ngo-it', headers: bearer(t), payload: { name: 'Demo NGO Italy' } });
      expect((await patch(await token('anitp', 'national_contact_point', ['admin']))).statusCode).toBe(403);
      expect((await patch(await token('iom-it', 'international_organisation', ['admin']))).statusCode).toBe(200);
    } finally {
      await custom.close();
    }
  });
});

describe('caching', () => {
  it('marks every authenticated response no-store, refusals included', async () => {
    const ok = await app.inject({ method: 'GET', url: '/v1/secret', headers: bearer(await officer()) });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['cache-control']).toBe('no-store');
    const created = await app.inject({ method: 'POST', url: '/v1/things', headers: bearer(await officer()), payload: { name: 'cached?' } });
    expect(created.statusCode).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const refused = await app.inject({ method: 'GET', url: '/v1/secret' });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['cache-control']).toBe('no-store');
    const forbiddenRes = await app.inject({ method: 'GET', url: '/v1/secret', headers: bearer(await token('ngo-it', 'ngo', ['notifier'])) });
    expect(forbiddenRes.headers['cache-control']).toBe('no-store');
    const orgs = await app.inject({ method: 'GET', url: '/v1/organisations', headers: bearer(await officer()) });
    expect(orgs.headers['cache-control']).toBe('no-store');
  });
});

describe('refused-token budget', () => {
  it('cuts off an address flooding with bad tokens, yet still serves valid tokens from that address (a shared proxy)', async () => {
    const limited = await createApp({
      logger: false,
      auth: { jwks: { keys: devJwks(key).keys }, issuer: ISSUER, audience: AUDIENCE },
      orgs: createOrgDirectory(db),
      rateLimit: { max: 3, timeWindowMs: 60_000 },
      openapi: { title: 't', version: '1' },
    });
    await limited.register(fakeService(db));
    await limited.ready();
    try {
      const proxy = '10.20.30.40';
      const get = (headers: Record<string, string>, remoteAddress = proxy) => limited.inject({ method: 'GET', url: '/v1/secret', headers, remoteAddress });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await get({ authorization: `Bearer a.b.c${i}` })).statusCode);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const cut = await get({ authorization: 'Bearer x.y.z' });
      expect(cut.json()).toMatchObject({ code: 'rate-limited', status: 429 });
      expect(Number(cut.headers['retry-after'])).toBeGreaterThan(0);
      expect((await get({})).statusCode).toBe(429);
      // A forged token with a valid shape costs a signature check and is refused all the same.
      const forged = `${(await officer()).slice(0, -4)}AAAA`;
      expect((await get({ authorization: `Bearer ${forged}` })).statusCode).toBe(429);

      // Colleagues behind the same proxy with real tokens are served.
      const valid = await get(bearer(await officer()));
      expect(valid.statusCode).toBe(200);
      expect(valid.json()).toEqual({ org: 'anitp', country: 'RO' });
      expect((await get(bearer(await token('anitp-rc-bucharest', 'national_contact_point', ['case_officer'])))).statusCode).toBe(200);
      // Another address is unaffected by the flood.
      expect((await get({ authorization: 'Bearer a.b.c' }, '10.20.30.41')).statusCode).toBe(401);
    } finally {
      await limited.close();
    }
  });
});

describe('per-organisation rate limit', () => {
  it('answers 429 once an organisation exceeds its budget, leaving others alone', async () => {
    const limited = await createApp({
      logger: false,
      auth: { jwks: { keys: devJwks(key).keys }, issuer: ISSUER, audience: AUDIENCE },
      orgs: createOrgDirectory(db),
      rateLimit: { max: 3, timeWindowMs: 60_000 },
      openapi: { title: 't', version: '1' },
    });
    await limited.register(fakeService(db));
    await limited.ready();
    try {
      const a = bearer(await officer());
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await limited.inject({ method: 'GET', url: '/v1/secret', headers: a })).statusCode);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const last = await limited.inject({ method: 'GET', url: '/v1/secret', headers: a });
      expect(last.json()).toMatchObject({ code: 'rate-limited', status: 429 });
      expect(last.headers['retry-after']).toBeDefined();
      const other = bearer(await token('anitp-rc-bucharest', 'national_contact_point', ['case_officer']));
      expect((await limited.inject({ method: 'GET', url: '/v1/secret', headers: other })).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('JWKS file rotation', () => {
  it('accepts a key added to the file and refuses one removed, without restarting; fails closed without the file', async () => {
    const rotDir = await mkdtemp(path.join(tmpdir(), 'trm-jwks-'));
    const file = path.join(rotDir, 'jwks.json');
    await writeJwks(file, devJwks(key).keys);
    const rotApp = await createApp({
      logger: false,
      auth: { jwks: { file, checkIntervalMs: 0 }, issuer: ISSUER, audience: AUDIENCE },
      orgs: createOrgDirectory(db),
      openapi: { title: 't', version: '1' },
    });
    await rotApp.register(fakeService(db));
    await rotApp.ready();
    try {
      const pair = await generateKeyPair('ES256', { extractable: true });
      const newJwk = { ...(await exportJWK(pair.publicKey)), kid: 'rotated-key', alg: 'ES256' };
      const newKey: DevKey = { kid: 'rotated-key', privateKey: pair.privateKey, publicJwk: newJwk };
      const oldToken = bearer(await officer());
      const newToken = bearer(await signToken(newKey, { org: 'anitp', orgType: 'national_contact_point', roles: ['case_officer'], issuer: ISSUER, audience: AUDIENCE }));
      const call = (h: Record<string, string>) => rotApp.inject({ method: 'GET', url: '/v1/secret', headers: h });

      expect((await call(newToken)).statusCode).toBe(401);
      await writeJwks(file, [key.publicJwk, newJwk]);
      expect((await call(newToken)).statusCode).toBe(200);
      expect((await call(oldToken)).statusCode).toBe(200);
      await writeJwks(file, [newJwk]);
      expect((await call(oldToken)).statusCode).toBe(401);
      expect((await call(newToken)).statusCode).toBe(200);

      await rm(file);
      const closed = await call(newToken);
      expect(closed.statusCode).toBe(503);
      expect(closed.json().code).toBe('auth-unavailable');
    } finally {
      await rotApp.close();
      await rm(rotDir, { recursive: true, force: true });
    }
  });
});

describe('dev keys', () => {
  it('persists the key with mode 0600 and reuses it', async () => {
    const { stat } = await import('node:fs/promises');
    const again = await loadOrCreateDevKey(dir);
    expect(again.kid).toBe(key.kid);
    expect((await stat(path.join(dir, 'dev-signing-key.jwk.json'))).mode & 0o777).toBe(0o600);
    expect(key.publicJwk).not.toHaveProperty('d');
  });
});

describe('logging', () => {
  it('carries the request id, redacts credentials and personal fields, and never logs bodies', async () => {
    const lines: string[] = [];
    const logged = await createApp({
      logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } },
      auth: { jwks: { keys: devJwks(key).keys }, issuer: ISSUER, audience: AUDIENCE },
      orgs: createOrgDirectory(db),
      openapi: { title: 't', version: '1' },
    });
    // A declared search parameter: routes without one refuse any query string.
    logged.post('/v1/log-me', { config: { access: { roles: ['case_officer'] } }, schema: { body: ThingBody, querystring: z.strictObject({ q: z.string().optional() }) } }, async (request) => {
      request.log.info({ command: { person: request.body.person, headers: request.headers } }, 'handling');
      // Fields that hold personal data wherever they appear, at any of the redacted depths.
      request.log.info(
        { reference: SECRET, otherNames: [SECRET], birthPlace: SECRET, contacts: [{ phone: SECRET }], answer: { otherNames: [SECRET], birthPlace: SECRET, contacts: SECRET }, criminalCase: { reference: SECRET } },
        'fields',
      );
      const err = Object.assign(new Error('duplicate key'), { detail: `Key (name)=(${SECRET}) already exists` });
      throw err;
    });
    await logged.ready();
    try {
      const tok = await officer();
      const res = await logged.inject({
        method: 'POST',
        url: `/v1/log-me?q=${SECRET}`,
        headers: { ...bearer(tok), 'x-request-id': 'log-test-0001' },
        payload: { name: SECRET, person: { givenName: SECRET, birthDate: '1990-01-01' } },
      });
      expect(res.statusCode).toBe(500);
      const text = lines.join('');
      expect(text).toContain('"requestId":"log-test-0001"');
      expect(text).toContain('"msg":"handling"');
      expect(text).toContain('"msg":"fields"');
      expect(text).toContain('[redacted]');
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(tok);
    } finally {
      await logged.close();
    }
  });
});
