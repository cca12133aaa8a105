import { sql } from 'kysely';
import { SignJWT, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER, type Stack, notification, startReferralsStack } from './support/stack.js';

let stack: Stack;
let ngo: string;
let anitp: string;
let shelter: string;
let consulate: string;

beforeAll(async () => {
  stack = await startReferralsStack();
  ngo = await stack.token('ngo-it', ['notifier', 'case_officer']);
  anitp = await stack.token('anitp', ['case_officer']);
  shelter = await stack.token('provider-shelter', ['service_provider']);
  consulate = await stack.token('consulate-ro-it', ['consular_officer']);
});
afterAll(async () => stack?.close());

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

async function notify(body: object = notification(), headers: Record<string, string> = {}) {
  return stack.app.inject({ method: 'POST', url: '/v1/cases', headers: { ...auth(ngo), ...headers }, payload: body });
}

async function eventCount(): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from referrals.events`.execute(stack.db);
  return Number(rows[0]!.n);
}

describe('POST /v1/cases', () => {
  it('notifies a case: 201, Location, ETag and the case id', async () => {
    const res = await notify();
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.caseId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.location).toBe(`/v1/cases/${body.caseId}`);
    expect(res.headers.etag).toBe('"1"');
    expect(body.participants).toEqual(
      expect.arrayContaining([
        { organisationId: 'ngo-it', purpose: 'notifier' },
        { organisationId: 'anitp', purpose: 'national_contact_point' },
      ]),
    );
    expect(body.attributes.personalDataFields).toEqual(['familyName', 'givenName']);
  });

  it('addresses the central contact point of the citizenship, not its regional centres, and falls back to the home contact point', async () => {
    const participantsOf = async (overrides: Record<string, unknown>) => {
      const res = await notify(notification(overrides));
      expect(res.statusCode).toBe(201);
      return (res.json().participants as Array<{ organisationId: string; purpose: string }>).filter((p) => p.purpose === 'national_contact_point');
    };
    // Romanian citizen: ANITP (central), never its regional centre until the acknowledgement assigns one.
    expect(await participantsOf({ citizenship: 'RO' })).toEqual([{ organisationId: 'anitp', purpose: 'national_contact_point' }]);
    // Neither Moldova nor Italy has a registered contact point: the home contact point (policy) receives it.
    expect(await participantsOf({ citizenship: 'MD', countryOfIdentification: 'IT' })).toEqual([
      { organisationId: 'anitp', purpose: 'national_contact_point' },
    ]);
  });

  it('is visible to the notifier and the national contact point, and a 404 for everyone else', async () => {
    const { caseId } = (await notify()).json();
    for (const token of [ngo, anitp]) {
      const res = await stack.app.inject({ url: `/v1/cases/${caseId}`, headers: auth(token) });
      expect(res.statusCode).toBe(200);
      expect(res.json().caseId).toBe(caseId);
    }
    for (const token of [shelter, consulate]) {
      const res = await stack.app.inject({ url: `/v1/cases/${caseId}`, headers: auth(token) });
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
      // Exactly the answer for a case that does not exist: nothing tells the caller it exists.
      const missing = await stack.app.inject({ url: `/v1/cases/01a20000-0000-7000-8000-000000000000`, headers: auth(token) });
      expect({ ...res.json(), requestId: 'x' }).toEqual({ ...missing.json(), requestId: 'x' });
    }
    const list = await stack.app.inject({ url: '/v1/cases', headers: auth(shelter) });
    expect(list.json().items).toEqual([]);
  });

  it('refuses unknown fields with a pointer and writes nothing', async () => {
    const before = await eventCount();
    const res = await notify({ ...notification(), orgId: 'anitp', status: 'closed' });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation-failed');
    expect(res.json().errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/orgId', '/status']);
    expect(await eventCount()).toBe(before);
  });

  it('refuses an inconsistent notification with 422 naming every condition, and writes nothing', async () => {
    const before = await eventCount();
    const res = await notify(notification({ age: undefined, returnWanted: false, identificationDate: '2099-01-01' }));
    expect(res.statusCode).toBe(422);
    // An unknown age is not an inconsistency: the person is presumed a child (issue 17).
    expect(res.json().unmet.sort()).toEqual([
      'identification-date-in-future',
      'planned-return-before-identification',
      'planned-return-date-without-return-wanted',
    ]);
    expect(await eventCount()).toBe(before);
  });

  it('needs the notifier role (403) and a valid token (401)', async () => {
    const res = await stack.app.inject({ method: 'POST', url: '/v1/cases', headers: auth(anitp), payload: notification() });
    expect(res.statusCode).toBe(403);
    const anonymous = await stack.app.inject({ method: 'POST', url: '/v1/cases', payload: notification() });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('Idempotency-Key', () => {
  it('returns the first answer for the same key and body, and writes nothing new', async () => {
    const first = await notify(notification(), { 'idempotency-key': 'idem-same' });
    const before = await eventCount();
    const again = await notify(notification(), { 'idempotency-key': 'idem-same' });
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers.location).toBe(first.headers.location);
    expect(await eventCount()).toBe(before);
  });

  it('refuses the same key with another body (422)', async () => {
    await notify(notification(), { 'idempotency-key': 'idem-other' });
    const res = await notify(notification({ age: 30 }), { 'idempotency-key': 'idem-other' });
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('idempotency-key-reused');
  });

  it('lets exactly one of two concurrent requests with one key do the work', async () => {
    const before = await eventCount();
    const results = await Promise.all(Array.from({ length: 4 }, () => notify(notification(), { 'idempotency-key': 'idem-race' })));
    const codes = results.map((r) => r.statusCode);
    // Each is either the work (201), a replay of it (201), or told it is in progress (409).
    expect(codes.every((c) => c === 201 || c === 409)).toBe(true);
    const ids = new Set(results.filter((r) => r.statusCode === 201).map((r) => r.json().caseId));
    expect(ids.size).toBe(1);
    expect(await eventCount()).toBe(before + 1);
  });
});

describe('acknowledgement and If-Match', () => {
  it('lets the contact point acknowledge with contacts and regional centre; the centre then sees the case', async () => {
    const { caseId } = (await notify()).json();
    const res = await stack.app.inject({
      method: 'POST',
      url: `/v1/cases/${caseId}/acknowledgement`,
      headers: { ...auth(anitp), 'if-match': '"1"' },
      payload: { keyContactId: 'officer-1', alternateContactId: 'officer-2', regionalCentreId: 'anitp-rc-bucharest' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    expect(res.json().status).toBe('acknowledged');
    expect(res.json().acknowledgement).toMatchObject({ acknowledgedBy: 'anitp', regionalCentreId: 'anitp-rc-bucharest', late: false });
    const rc = await stack.token('anitp-rc-bucharest', ['case_officer']);
    expect((await stack.app.inject({ url: `/v1/cases/${caseId}`, headers: auth(rc) })).statusCode).toBe(200);
  });

  it('answers 412 to a stale If-Match and writes nothing', async () => {
    const { caseId } = (await notify()).json();
    const before = await eventCount();
    const res = await stack.app.inject({
      method: 'POST',
      url: `/v1/cases/${caseId}/acknowledgement`,
      headers: { ...auth(anitp), 'if-match': '"7"' },
      payload: { keyContactId: 'officer-1', alternateContactId: 'officer-2', regionalCentreId: 'anitp-rc-bucharest' },
    });
    expect(res.statusCode).toBe(412);
    expect(await eventCount()).toBe(before);
  });

  it('refuses the notifier acknowledging its own notification (403)', async () => {
    const { caseId } = (await notify()).json();
    const res = await stack.app.inject({
      method: 'POST',
      url: `/v1/cases/${caseId}/acknowledgement`,
      headers: auth(ngo),
      payload: { keyContactId: 'a', alternateContactId: 'b', regionalCentreId: 'anitp-rc-bucharest' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('not-the-national-contact-point');
  });

  it('acknowledges once when two officers race', async () => {
    const { caseId } = (await notify()).json();
    const results = await Promise.all(
      [1, 2, 3].map((i) =>
        stack.app.inject({
          method: 'POST',
          url: `/v1/cases/${caseId}/acknowledgement`,
          headers: auth(anitp),
          payload: { keyContactId: `officer-${i}`, alternateContactId: 'officer-0', regionalCentreId: 'anitp-rc-bucharest' },
        }),
      ),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409, 409]);
  });
});

describe('GET /v1/cases', () => {
  it('filters by status, situation and overdue, and pages with a cursor', async () => {
    const own = await stack.token('iom-it', ['notifier', 'case_officer']);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await stack.app.inject({
        method: 'POST',
        url: '/v1/cases',
        headers: auth(own),
        payload: notification({ situation: i % 2 === 0 ? 'referred_and_returned_by_iom' : 'child_victim', age: i % 2 === 0 ? 30 : 15 }),
      });
      ids.push(res.json().caseId);
    }
    const page1 = (await stack.app.inject({ url: '/v1/cases?limit=2', headers: auth(own) })).json();
    expect(page1.items.map((c: { caseId: string }) => c.caseId)).toEqual([ids[4], ids[3]]);
    const page2 = (await stack.app.inject({ url: `/v1/cases?limit=2&cursor=${page1.nextCursor}`, headers: auth(own) })).json();
    expect(page2.items.map((c: { caseId: string }) => c.caseId)).toEqual([ids[2], ids[1]]);
    const page3 = (await stack.app.inject({ url: `/v1/cases?limit=2&cursor=${page2.nextCursor}`, headers: auth(own) })).json();
    expect(page3.items.map((c: { caseId: string }) => c.caseId)).toEqual([ids[0]]);
    expect(page3.nextCursor).toBeNull();

    const children = (await stack.app.inject({ url: '/v1/cases?situation=child_victim', headers: auth(own) })).json();
    expect(children.items).toHaveLength(2);
    expect(children.items.every((c: { minor: boolean }) => c.minor)).toBe(true);

    expect((await stack.app.inject({ url: '/v1/cases?overdue=true', headers: auth(own) })).json().items).toHaveLength(0);
    const saved = stack.clock.now;
    stack.clock.now = new Date(saved.getTime() + 2 * 86_400_000 + 1000);
    try {
      const overdue = (await stack.app.inject({ url: '/v1/cases?overdue=true&status=notified', headers: auth(own) })).json();
      expect(overdue.items).toHaveLength(5);
      expect(overdue.items.every((c: { acknowledgementOverdue: boolean }) => c.acknowledgementOverdue)).toBe(true);
    } finally {
      stack.clock.now = saved;
    }
  });

  it('refuses a forged cursor (400) and a page size over 100 (400)', async () => {
    expect((await stack.app.inject({ url: '/v1/cases?cursor=bm90LWpzb24', headers: auth(ngo) })).statusCode).toBe(400);
    expect((await stack.app.inject({ url: '/v1/cases?limit=1000', headers: auth(ngo) })).statusCode).toBe(400);
  });
});

describe('tokens', () => {
  it('refuses expired, wrong-audience and alg:none tokens (401)', async () => {
    const { caseId } = (await notify()).json();
    const now = Math.floor(Date.now() / 1000);
    const claims = { org: 'ngo-it', org_type: 'ngo', roles: ['case_officer'], sub: 'x' };
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(
      JSON.stringify({ ...claims, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600 }),
    )}.`;
    const hmac = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('a-shared-secret-that-nobody-configured'));
    const expiredSoon = await stack.token('ngo-it', ['case_officer']);
    const [h, p, s] = expiredSoon.split('.');
    void s;
    const tampered = `${h}.${base64url.encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(base64url.decode(p!))), aud: 'other' }))}.${s}`;
    for (const token of [none, hmac, tampered, 'not-a-jwt']) {
      const res = await stack.app.inject({ url: `/v1/cases/${caseId}`, headers: auth(token) });
      expect(res.statusCode, token.slice(0, 30)).toBe(401);
    }
  });
});

describe('relay wake-up', () => {
  it('wakes the relay leading in this process directly after a commit, with no signal round trip through the bus', async () => {
    expect(stack.relay.isLeader()).toBe(true);
    const signals: string[] = [];
    const original = stack.bus.signal.bind(stack.bus);
    stack.bus.signal = (topic: string) => {
      signals.push(topic);
      original(topic);
    };
    try {
      const res = await notify();
      expect(res.statusCode).toBe(201);
      await stack.relay.caughtUp();
    } finally {
      stack.bus.signal = original;
    }
    expect(signals).toEqual([]);
  });
});
