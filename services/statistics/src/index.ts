export { statisticsModule, StatisticsEnv } from './module.js';
export { rebuildFacts, type RebuildReport } from './rebuild/rebuild.js';
