import { describe, expect, it } from 'vitest';
import type { OrgDirectory, Organisation } from '@trm/platform';
import { ReferralsEnv } from './module.js';
import { createReferralsContext, parseChildProtectionRoutes } from './service.js';

/** Child protection routing (issue 17): by the coordinating contact point's country and the county, then the country; else the contact point chooses. */
const org = (id: string, over: Partial<Organisation> = {}): Organisation =>
  ({ id, type: 'child_protection', country: 'RO', name: id, parentId: null, active: true, ...over }) as Organisation;
const registry: Record<string, Organisation> = {
  'dgaspc-bucharest': org('dgaspc-bucharest'),
  'dgaspc-cluj': org('dgaspc-cluj'),
  'dgaspc-closed': org('dgaspc-closed', { active: false }),
  'ngo-ro': org('ngo-ro', { type: 'ngo' }),
};
const orgs: OrgDirectory = { get: async (id) => registry[id], list: async () => Object.values(registry), nationalContactPoints: async () => [] };
const ctx = (routes: Record<string, string>) => createReferralsContext({ db: {} as never, vault: {} as never, orgs, policy: { childProtectionRoutes: routes } });

describe('child protection routing policy', () => {
  it('parses <country>[-<county>]=<organisation id>, and refuses anything else at start', () => {
    expect(parseChildProtectionRoutes('RO-B=dgaspc-bucharest, RO-CJ=dgaspc-cluj,RO=dgaspc-bucharest')).toEqual({ 'RO-B': 'dgaspc-bucharest', 'RO-CJ': 'dgaspc-cluj', RO: 'dgaspc-bucharest' });
    expect(parseChildProtectionRoutes('')).toEqual({});
    expect(() => parseChildProtectionRoutes('Romania=dgaspc')).toThrow(/TRM_CHILD_PROTECTION_ROUTES/);
    expect(ReferralsEnv.parse({}).TRM_CHILD_PROTECTION_ROUTES).toEqual({ 'RO-B': 'dgaspc-bucharest', RO: 'dgaspc-bucharest' });
    expect(ReferralsEnv.safeParse({ TRM_CHILD_PROTECTION_ROUTES: 'nonsense' }).success).toBe(false);
    expect(ReferralsEnv.parse({}).TRM_CHILD_PROTECTION_HOURS).toBe(24);
    expect(ReferralsEnv.parse({}).TRM_NOTIFIER_CORRECTION_DAYS).toBe(30);
  });

  it('takes the county first, then the country; an inactive authority or another type routes nowhere', async () => {
    const c = ctx({ 'RO-CJ': 'dgaspc-cluj', RO: 'dgaspc-bucharest', 'RO-X': 'dgaspc-closed', 'RO-N': 'ngo-ro' });
    expect((await c.childProtectionFor('RO', 'CJ'))?.id).toBe('dgaspc-cluj');
    expect((await c.childProtectionFor('RO', 'IS'))?.id).toBe('dgaspc-bucharest');
    expect((await c.childProtectionFor('RO', undefined))?.id).toBe('dgaspc-bucharest');
    expect(await c.childProtectionFor('RO', 'X')).toBeUndefined();
    expect(await c.childProtectionFor('RO', 'N')).toBeUndefined();
    expect(await c.childProtectionFor('IT', 'RM')).toBeUndefined();
  });
});
