import { describe, expect, it } from 'vitest';
import { ConfigError, serviceSettings } from '@trm/runtime';
import { RepatriationEnv } from './module.js';

describe('repatriation policies from the environment', () => {
  it('default to DOMAIN.md: 10 days notice, 2 days to acknowledge, follow-ups at 30/90/180 days', () => {
    expect(serviceSettings('repatriation', RepatriationEnv, {})).toEqual({
      REPATRIATION_NOTICE_DAYS: 10,
      REPATRIATION_ACK_DAYS: 2,
      REPATRIATION_FOLLOW_UP_DAYS: [30, 90, 180],
    });
  });

  it('are read from the environment', () => {
    const s = serviceSettings('repatriation', RepatriationEnv, { REPATRIATION_NOTICE_DAYS: '14', REPATRIATION_ACK_DAYS: '3', REPATRIATION_FOLLOW_UP_DAYS: '15,60' });
    expect(s).toEqual({ REPATRIATION_NOTICE_DAYS: 14, REPATRIATION_ACK_DAYS: 3, REPATRIATION_FOLLOW_UP_DAYS: [15, 60] });
  });

  it('refuse a bad value at start, naming the variable', () => {
    expect(() => serviceSettings('repatriation', RepatriationEnv, { REPATRIATION_FOLLOW_UP_DAYS: '30,30' })).toThrow(ConfigError);
    expect(() => serviceSettings('repatriation', RepatriationEnv, { REPATRIATION_NOTICE_DAYS: 'ten' })).toThrow(/REPATRIATION_NOTICE_DAYS/);
  });
});
