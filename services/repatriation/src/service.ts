import type { FastifyInstance } from 'fastify';
import type { RepatriationContext } from './context.js';
import { returnRoutes } from './http/return.routes.js';
import { registerRepatriationProblems } from './problems.js';

/** The repatriation routes as a Fastify plugin. */
export async function repatriationService(app: FastifyInstance, ctx: RepatriationContext): Promise<void> {
  registerRepatriationProblems();
  await returnRoutes(app, ctx);
}
