/**
 * Distributed mode: the referrals service as its own process, on PostgreSQL and NATS JetStream.
 * `node services/referrals/dist/main.js` with DATABASE_URL, NATS_URL, JWKS_URL | JWKS_FILE,
 * JWT_ISSUER, JWT_AUDIENCE, TRM_MASTER_KEYS. Several replicas may run side by side.
 */
import { runDistributedService } from './server.js';

await runDistributedService();
