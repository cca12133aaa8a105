import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ProblemError,
  canonicalJson,
  createAuthenticator,
  decodeCursor,
  encodeCursor,
  etag,
  fieldErrors,
  jsonPointer,
  loadOrCreateDevKey,
  registerProblemCodes,
  signToken,
  type OrgDirectory,
} from './index.js';

const noOrgs: OrgDirectory = { get: async () => undefined, list: async () => [], nationalContactPoints: async () => [] };

describe('validation pointers', () => {
  it('escapes ~ and / per RFC 6901', () => {
    expect(jsonPointer(['a/b', 'c~d', 0])).toBe('/a~1b/c~0d/0');
    expect(jsonPointer([])).toBe('');
  });

  it('never copies the input into messages, even through a custom error map', () => {
    const secret = 'Maria-Popescu-1985';
    const schema = z.strictObject({ name: z.number({ error: (iss) => `got ${String(iss.input)}` }) });
    const result = schema.safeParse({ name: secret, [secret]: 1 });
    const errors = fieldErrors(result.error!.issues, 'body');
    expect(errors.map((e) => e.pointer).sort()).toEqual(['/Maria-Popescu-1985', '/name']);
    expect(errors.map((e) => e.message).join(' ')).not.toContain(secret);
  });
});

describe('helpers', () => {
  it('builds strong ETags and round-trips cursors', () => {
    expect(etag(12)).toBe('"12"');
    const schema = z.strictObject({ position: z.string() });
    expect(decodeCursor(encodeCursor({ position: '9007199254740993' }), schema)).toEqual({ position: '9007199254740993' });
    expect(() => decodeCursor('!!', schema)).toThrow(ProblemError);
    expect(() => decodeCursor(encodeCursor([1]), schema)).toThrow(ProblemError);
  });

  it('hashes bodies independently of key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe(canonicalJson({ a: { c: null, d: [2, { e: 0, f: 1 }] }, b: 1 }));
  });

  it('refuses to give one problem code two statuses', () => {
    registerProblemCodes({ 'unit-test-code': { status: 409, title: 't', description: 'd' } });
    expect(() => registerProblemCodes({ 'unit-test-code': { status: 410, title: 't', description: 'd' } })).toThrow(/already registered/);
    expect(() => registerProblemCodes({ Bad_Code: { status: 400, title: 't', description: 'd' } })).toThrow(/lower-kebab/);
  });
});

describe('authenticator configuration', () => {
  it('refuses symmetric or none algorithms in the allowlist', () => {
    const auth = { jwks: { keys: [] }, issuer: 'i', audience: 'a' };
    expect(() => createAuthenticator({ ...auth, algorithms: ['ES256', 'HS256'] }, noOrgs)).toThrow(/asymmetric/);
    expect(() => createAuthenticator({ ...auth, algorithms: ['none'] }, noOrgs)).toThrow(/asymmetric/);
  });

  it('fails closed with 503 when a remote JWKS cannot be fetched', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(`${tmpdir()}/trm-unit-`);
    const key = await loadOrCreateDevKey(dir);
    await rm(dir, { recursive: true });
    const token = await signToken(key, { org: 'anitp', orgType: 'national_contact_point', roles: ['admin'], issuer: 'i', audience: 'a' });
    const auth = createAuthenticator({ jwks: { url: 'http://127.0.0.1:9/jwks.json', timeoutMs: 500 }, issuer: 'i', audience: 'a' }, noOrgs);
    await expect(auth.authenticate(`Bearer ${token}`)).rejects.toMatchObject({ status: 503, code: 'auth-unavailable' });
  });
});
