import { createPublicKey, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { retryDelayMs, urlRefusal, webhookSettings } from './settings.js';
import { guardedLookup, isBlockedAddress } from './ssrf.js';
import { generateWebhookSigningJwk, loadWebhookSigningKey, signWebhook, webhookJwks } from './signing.js';

describe('webhook signing key', () => {
  it('is refused with NODE_ENV=production unless TRM_WEBHOOK_SIGNING_KEY is set', async () => {
    await expect(loadWebhookSigningKey({ NODE_ENV: 'production' })).rejects.toThrow(/TRM_WEBHOOK_SIGNING_KEY/);
    const jwk = generateWebhookSigningJwk();
    const key = await loadWebhookSigningKey({ NODE_ENV: 'production', TRM_WEBHOOK_SIGNING_KEY: JSON.stringify(jwk) });
    expect(key.kid).toBe(jwk.kid);
    expect(key.publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: jwk.kid, alg: 'EdDSA', use: 'sig' });
  });

  it('refuses a key that is not a private Ed25519 JWK, or whose x does not match d', async () => {
    await expect(loadWebhookSigningKey({ TRM_WEBHOOK_SIGNING_KEY: 'nope' })).rejects.toThrow(/not JSON/);
    const { d: _d, ...publicOnly } = generateWebhookSigningJwk();
    await expect(loadWebhookSigningKey({ TRM_WEBHOOK_SIGNING_KEY: JSON.stringify(publicOnly) })).rejects.toThrow(/private JWK/);
    const a = generateWebhookSigningJwk();
    const b = generateWebhookSigningJwk();
    await expect(loadWebhookSigningKey({ TRM_WEBHOOK_SIGNING_KEY: JSON.stringify({ ...a, x: b.x }) })).rejects.toThrow(/x is not/);
  });

  it('serves the published keys of a rotation beside the signing key, and refuses a private one among them', async () => {
    const current = generateWebhookSigningJwk();
    const { d: _d, ...next } = generateWebhookSigningJwk();
    const key = await loadWebhookSigningKey({ TRM_WEBHOOK_SIGNING_KEY: JSON.stringify(current), TRM_WEBHOOK_PUBLISHED_KEYS: JSON.stringify([next]) });
    expect(webhookJwks(key).keys.map((k) => k.x)).toEqual([current.x, next.x]);
    expect(webhookJwks(key).keys.every((k) => !('d' in k))).toBe(true);
    await expect(loadWebhookSigningKey({ TRM_WEBHOOK_SIGNING_KEY: JSON.stringify(current), TRM_WEBHOOK_PUBLISHED_KEYS: JSON.stringify([generateWebhookSigningJwk()]) })).rejects.toThrow(/private key/);
  });

  it('in development is kept in the data folder: the same key on the next start', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'trm-wh-'));
    try {
      const first = await loadWebhookSigningKey({ TRM_DATA_DIR: dir });
      const again = await loadWebhookSigningKey({ TRM_DATA_DIR: dir });
      expect(again.publicJwk).toEqual(first.publicJwk);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('signs "{id}.{timestamp}.{body}" per Standard Webhooks v1a, verifiable with the public JWK', async () => {
    const key = await loadWebhookSigningKey({ TRM_WEBHOOK_SIGNING_KEY: JSON.stringify(generateWebhookSigningJwk()) });
    const body = '{"id":"e1","type":"CaseNotified"}';
    const h = signWebhook(key, 'msg_abc', 1674087231, body);
    expect(h['webhook-id']).toBe('msg_abc');
    expect(h['webhook-timestamp']).toBe('1674087231');
    const [version, sig] = h['webhook-signature']!.split(',');
    expect(version).toBe('v1a');
    const pub = createPublicKey({ key: key.publicJwk, format: 'jwk' });
    expect(verify(null, Buffer.from(`msg_abc.1674087231.${body}`), pub, Buffer.from(sig!, 'base64'))).toBe(true);
    expect(verify(null, Buffer.from(`msg_abc.1674087232.${body}`), pub, Buffer.from(sig!, 'base64'))).toBe(false);
    expect(() => signWebhook(key, 'msg.a', 1, body)).toThrow();
  });
});

describe('webhook policy', () => {
  it('refuses URLs that are not http(s), http in production, credentials and fragments', () => {
    expect(urlRefusal('https://partner.example.org/hook', { NODE_ENV: 'production' })).toBeUndefined();
    expect(urlRefusal('http://127.0.0.1:9999/hook', { TRM_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' })).toBeUndefined();
    expect(urlRefusal('http://127.0.0.1:9999/hook', {})).toMatch(/private, loopback/);
    expect(urlRefusal('http://partner.example.org/hook', { NODE_ENV: 'production' })).toMatch(/https/);
    expect(urlRefusal('ftp://partner.example.org/hook', {})).toMatch(/https/);
    expect(urlRefusal('https://u:p@partner.example.org/hook', {})).toMatch(/credentials/);
    expect(urlRefusal('https://partner.example.org/hook#x', {})).toMatch(/fragment/);
    expect(urlRefusal('/relative', {})).toMatch(/absolute/);
  });

  it('backs off exponentially from 30 s to at most 6 h, with ±20 % jitter', () => {
    const s = { TRM_WEBHOOK_RETRY_BASE_MS: 30_000, TRM_WEBHOOK_RETRY_MAX_MS: 6 * 3_600_000 };
    expect(retryDelayMs(s, 1, () => 0.5)).toBe(30_000);
    expect(retryDelayMs(s, 2, () => 0.5)).toBe(120_000);
    expect(retryDelayMs(s, 3, () => 0.5)).toBe(480_000);
    expect(retryDelayMs(s, 12, () => 0.5)).toBe(6 * 3_600_000);
    expect(retryDelayMs(s, 1, () => 0)).toBe(24_000);
    expect(retryDelayMs(s, 1, () => 1)).toBe(36_000);
  });
});

describe('SSRF guard', () => {
  it('blocks loopback, private, link-local, CGNAT, unique-local and IPv4-mapped addresses, not public ones', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd12::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:8.8.8.8']) {
      expect(isBlockedAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '93.184.216.34', '2606:4700::1111']) expect(isBlockedAddress(a), a).toBe(false);
  });

  it('resolves once and refuses a name that resolves to a blocked address, unless the host is allowed', async () => {
    const lookup = guardedLookup(new URL('http://localhost:9/x'), new Set())!;
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => lookup('localhost', {}, (e) => resolve(e)));
    expect(err?.code).toBe('EWEBHOOKBLOCKED');
    expect(guardedLookup(new URL('http://localhost:9/x'), new Set(['localhost']))).toBeUndefined();
    const literal = guardedLookup(new URL('http://127.0.0.1:9/x'), new Set())!;
    const err2 = await new Promise<NodeJS.ErrnoException | null>((resolve) => literal('127.0.0.1', {}, (e) => resolve(e)));
    expect(err2?.code).toBe('EWEBHOOKBLOCKED');
  });

  it('TRM_WEBHOOK_ALLOWED_HOSTS is refused with NODE_ENV=production', () => {
    expect(() => webhookSettings({ NODE_ENV: 'production', TRM_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' })).toThrow(/development only/);
    expect(webhookSettings({ TRM_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' }).TRM_WEBHOOK_ALLOWED_HOSTS).toBe('127.0.0.1');
  });
});
