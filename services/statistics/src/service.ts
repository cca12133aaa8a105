import type { FastifyInstance } from 'fastify';
import type { StatisticsContext } from './context.js';
import { statisticsRoutes } from './http/statistics.routes.js';
import { registerStatisticsProblems } from './problems.js';

export async function statisticsService(app: FastifyInstance, ctx: StatisticsContext): Promise<void> {
  registerStatisticsProblems();
  await statisticsRoutes(app, ctx);
}
