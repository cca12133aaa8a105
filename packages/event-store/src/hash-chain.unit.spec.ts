import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type HashedEventFields, canonicalEventBytes, canonicalJson, checkChainLink, computeEventHash } from './hash-chain.js';

describe('canonicalJson', () => {
  it('sorts keys recursively and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('does not depend on insertion order (jsonb reorders keys)', () => {
    const one = { caseId: 'c-1', forms: ['labour', 'sexual'], victim: { sex: 'f', ageBand: '18-24' } };
    const two = JSON.parse('{"victim":{"ageBand":"18-24","sex":"f"},"forms":["labour","sexual"],"caseId":"c-1"}');
    expect(canonicalJson(two)).toBe(canonicalJson(one));
  });

  it('orders keys by UTF-16 code units, as RFC 8785 does', () => {
    // 'é' (U+00E9) sorts after 'z'; '\u{1F600}' (surrogates D83D…) after U+E000 in UTF-16 order.
    expect(canonicalJson({ z: 1, é: 2, '\uE000': 3, '\u{1F600}': 4, B: 5, a: 6 })).toBe('{"B":5,"a":6,"z":1,"é":2,"\u{1F600}":4,"\uE000":3}');
  });

  it('writes strings and numbers as JSON.stringify does', () => {
    expect(canonicalJson(['a"b\\c\n\u0001', 1.5, -0, 1e21, 1e-7, 0.1])).toBe('["a\\"b\\\\c\\n\\u0001",1.5,0,1e+21,1e-7,0.1]');
  });

  it('drops undefined members, writes undefined array items as null, honours toJSON', () => {
    expect(canonicalJson({ a: undefined, b: [undefined], c: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)) })).toBe('{"b":[null],"c":"2026-01-02T03:04:05.006Z"}');
  });

  it('refuses values JSON cannot hold instead of changing them', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/\$\.a is NaN/);
    expect(() => canonicalJson({ a: [Infinity] })).toThrow(/\$\.a\[0\] is Infinity/);
    expect(() => canonicalJson({ a: 1n })).toThrow(/bigint/);
    expect(() => canonicalJson(undefined)).toThrow(/not representable/);
  });

  it('is stable: parse then canonicalise again gives the same bytes', () => {
    const value = { k: [{ b: 'ü', a: [1, 2, { y: {}, x: [] }] }], e: '' };
    const once = canonicalJson(value);
    expect(canonicalJson(JSON.parse(once))).toBe(once);
  });
});

describe('hash chain', () => {
  const first: HashedEventFields = {
    eventId: '01900000-0000-7000-8000-000000000001',
    streamId: 'case-1',
    streamVersion: 1,
    type: 'CaseNotified',
    schemaVersion: 1,
    data: { caseId: 'c-1', country: 'RO' },
    metadata: { actor: 'u', organisation: 'o', correlationId: 'c', causationId: null, requestId: null },
    recordedAt: '2026-11-22T10:00:00.000Z',
  };
  const second: HashedEventFields = { ...first, eventId: '01900000-0000-7000-8000-000000000002', streamVersion: 2, type: 'ConsentRecorded' };

  it('hashes the canonical bytes of exactly the listed fields', () => {
    const bytes = canonicalEventBytes({ ...first, extra: 'ignored' } as HashedEventFields);
    expect(bytes.toString('utf8')).toBe(
      '{"data":{"caseId":"c-1","country":"RO"},"eventId":"01900000-0000-7000-8000-000000000001",' +
        '"metadata":{"actor":"u","causationId":null,"correlationId":"c","organisation":"o","requestId":null},' +
        '"recordedAt":"2026-11-22T10:00:00.000Z","schemaVersion":1,"streamId":"case-1","streamVersion":1,"type":"CaseNotified"}',
    );
    expect(computeEventHash(null, first)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('chains on the raw bytes of the previous hash', () => {
    const h1 = computeEventHash(null, first);
    const h2 = computeEventHash(h1, second);
    const expected = createHash('sha256').update(Buffer.concat([Buffer.from(h1, 'hex'), canonicalEventBytes(second)])).digest('hex');
    expect(h2).toBe(expected);
    expect(h2).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not change when data round-trips with other key order', () => {
    const reordered = { ...first, data: JSON.parse('{"country":"RO","caseId":"c-1"}') };
    expect(computeEventHash(null, reordered)).toBe(computeEventHash(null, first));
  });

  it('changes with any hashed field', () => {
    const base = computeEventHash(null, first);
    expect(computeEventHash(null, { ...first, data: { caseId: 'c-1', country: 'IT' } })).not.toBe(base);
    expect(computeEventHash(null, { ...first, recordedAt: '2026-11-22T10:00:00.001Z' })).not.toBe(base);
    expect(computeEventHash(null, { ...first, schemaVersion: 2 })).not.toBe(base);
  });

  it('refuses a malformed previous hash', () => {
    expect(() => computeEventHash('abc', second)).toThrow(/prevHash/);
  });

  it('checkChainLink names what broke', () => {
    const h1 = computeEventHash(null, first);
    const e1 = { ...first, prevHash: null, hash: h1 };
    const e2 = { ...second, prevHash: h1, hash: computeEventHash(h1, second) };
    expect(checkChainLink(null, e1)).toEqual({ ok: true });
    expect(checkChainLink(e1, e2)).toEqual({ ok: true });
    expect(checkChainLink(null, e2)).toMatchObject({ ok: false, reason: expect.stringMatching(/expected version 1/) });
    expect(checkChainLink(e1, { ...e2, prevHash: e2.hash })).toMatchObject({ ok: false, reason: expect.stringMatching(/prev_hash/) });
    expect(checkChainLink(e1, { ...e2, data: { tampered: true } })).toMatchObject({ ok: false, reason: expect.stringMatching(/hash mismatch/) });
  });
});
