/**
 * Prints a fresh private Ed25519 JWK for TRM_WEBHOOK_SIGNING_KEY (every service of a distributed
 * deployment gets the same one; partners verify with its public half at GET /v1/webhooks/keys).
 * `node apps/trm/dist/webhook-key.js`. To rotate: partners accept every key of the JWKS, so serve
 * the new key only after they have fetched it (one key at a time is signed with).
 */
import { generateWebhookSigningJwk } from '@trm/runtime';

process.stdout.write(`${JSON.stringify(generateWebhookSigningJwk())}\n`);
