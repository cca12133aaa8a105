import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateMasterKey, parseMasterKeys } from './master-keys.js';

describe('parseMasterKeys', () => {
  const a = generateMasterKey();
  const b = generateMasterKey();

  it('takes the first key as current and keeps the others for unwrapping', () => {
    const ring = parseMasterKeys(` key-2026b:${b} , key-2025a:${a} `);
    expect(ring.current.id).toBe('key-2026b');
    expect(ring.current.key).toEqual(Buffer.from(b, 'base64'));
    expect([...ring.byId.keys()]).toEqual(['key-2026b', 'key-2025a']);
    expect(ring.byId.get('key-2025a')?.key).toEqual(Buffer.from(a, 'base64'));
  });

  it.each([
    ['nothing', ''],
    ['no colon', a],
    ['an upper-case id', `Key1:${a}`],
    ['an id with an underscore', `key_1:${a}`],
    ['an empty id', `:${a}`],
    ['a 16-byte key', `k1:${randomBytes(16).toString('base64')}`],
    ['a 33-byte key', `k1:${randomBytes(33).toString('base64')}`],
    ['a key that is not base64', `k1:${a.slice(0, -4)}!!!=`],
    ['base64url instead of base64', `k1:${randomBytes(32).toString('base64url')}x`],
    ['a duplicate id', `k1:${a},k1:${b}`],
  ])('refuses %s without echoing key material', (_what, text) => {
    let message = '';
    try {
      parseMasterKeys(text);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toContain(a.slice(0, 12));
    expect(message).not.toContain(b.slice(0, 12));
  });
});

describe('generateMasterKey', () => {
  it('makes distinct 256-bit keys that parse', () => {
    const key = generateMasterKey();
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(generateMasterKey()).not.toBe(key);
    expect(parseMasterKeys(`k:${key}`).current.id).toBe('k');
  });
});
