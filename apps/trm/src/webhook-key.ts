/**
 * Prints a fresh private Ed25519 JWK for TRM_WEBHOOK_SIGNING_KEY (every service of a distributed
 * deployment gets the same one; partners verify with its public half at GET /v1/webhooks/keys).
 * `node apps/trm/dist/webhook-key.js`. To rotate: publish the new public key first
 * (TRM_WEBHOOK_PUBLISHED_KEYS), switch TRM_WEBHOOK_SIGNING_KEY once partners have refetched the
 * JWKS, and keep the old public key published for a while.
 */
import { generateWebhookSigningJwk } from '@trm/runtime';

process.stdout.write(`${JSON.stringify(generateWebhookSigningJwk())}\n`);
