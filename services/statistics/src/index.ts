export { statisticsModule, StatisticsEnv } from './module.js';
export { rebuildFacts, type RebuildReport } from './rebuild/rebuild.js';
export { type FigureRow, type ProtectedYear, type TierPolicy, type YearInput, linkedSystem, protectYear, sliceTable } from './domain/disclosure.js';
export { FIGURES, figureById } from './domain/figures.js';
export { auditRelease } from './audit/lp-audit.js';
