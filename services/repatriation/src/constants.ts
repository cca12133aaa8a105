export const REPATRIATION_SCHEMA = 'repatriation';
