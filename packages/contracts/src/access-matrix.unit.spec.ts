import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  accessPurposesOf,
  CASE_TIMELINE,
  caseTimelineCell,
  fieldMask,
  fieldPaths,
  projectFields,
  RETURN_FIELDS,
  RETURN_TIMELINE,
  ROUTES,
  routeAccess,
  unionSchemaFor,
  worksWith,
} from './access-matrix.js';
import { ReferralsEventSchemas } from './referrals.events.js';
import { RepatriationEventSchemas } from './repatriation.events.js';

describe('the access matrix', () => {
  it('has a timeline rule for every event of referrals and of repatriation', () => {
    expect(Object.keys(ReferralsEventSchemas).filter((t) => !(t in CASE_TIMELINE))).toEqual([]);
    expect(Object.keys(RepatriationEventSchemas).filter((t) => !(t in RETURN_TIMELINE))).toEqual([]);
  });

  it('gives every non-public route roles, and only routes about one case purposes', () => {
    for (const [key, e] of Object.entries(ROUTES)) {
      if (e.public) continue;
      expect(e.roles?.length, key).toBeGreaterThan(0);
      if (key.includes(':caseId') || key.includes(':returnId')) expect(e.purposes ?? e.orgTypes, key).toBeDefined();
    }
    expect(routeAccess('GET /metrics')).toEqual({ roles: ['operator'], registryOperator: true });
    expect(() => routeAccess('GET /nowhere')).toThrow(/not in the access matrix/);
  });

  it('never lets law enforcement be a destination partner', () => {
    expect([...accessPurposesOf(['notifier'], { lawEnforcement: true })]).toEqual(['law_enforcement']);
    expect([...accessPurposesOf(['notifier', 'regional_centre'])]).toEqual(['notifier', 'coordination']);
  });
});

describe('projectFields', () => {
  const view = {
    returnId: 'r',
    travelPlan: { departureDate: '2026-12-10', pointOfArrival: 'OTP' },
    riskAssessments: [{ level: 'high', factors: ['threat_from_traffickers'], comment: null }],
    arrival: null,
    participants: [{ organisationId: 'a' }, { organisationId: 'b' }],
  };

  it('keeps a shown field whole, only the shown parts of a partly shown one, and leaves out the rest', () => {
    const mask = new Map([
      ['returnId', ['yes' as const]],
      ['riskAssessments.level', ['yes' as const]],
      ['arrival.arrivedAt', ['yes' as const]],
    ]);
    expect(projectFields(view, mask)).toEqual({ returnId: 'r', riskAssessments: [{ level: 'high' }] });
  });

  it('filters rows naming organisations to those the caller works with, and `own` rows with their rule', () => {
    expect(projectFields(view, new Map([['participants', ['works-with' as const]]]), { worksWith: new Set(['b']) })).toEqual({ participants: [{ organisationId: 'b' }] });
    expect(projectFields(view, new Map([['participants', ['own' as const]]]), { own: { participants: (x) => (x as { organisationId: string }).organisationId === 'a' } })).toEqual({
      participants: [{ organisationId: 'a' }],
    });
  });

  it('gives a shelter of the return view only the ids and the stage before arrival', () => {
    const mask = fieldMask(RETURN_FIELDS, ['service_provision']);
    const out = projectFields({ ...view, caseId: 'c', version: 3, stage: 'planned', plannedDepartureDate: '2026-12-10', handedOver: null }, mask);
    expect(Object.keys(out as object).sort()).toEqual(['caseId', 'returnId', 'stage', 'version']);
  });
});

describe('unionSchemaFor', () => {
  it('makes a field optional where only some purposes see it, and partly shown objects partial', () => {
    const schema = z.object({ returnId: z.string(), caseId: z.string(), version: z.number(), stage: z.string(), arrival: z.object({ arrivedAt: z.string(), pointOfArrival: z.string() }).nullable() });
    const union = unionSchemaFor(schema, RETURN_FIELDS, ['coordination', 'service_provision']);
    expect(union.safeParse({ returnId: 'r', caseId: 'c', version: 1, stage: 'planned' }).success).toBe(true);
    expect(union.safeParse({ returnId: 'r', caseId: 'c', version: 1, stage: 'planned', arrival: { arrivedAt: 'x' } }).success).toBe(true);
    expect(union.safeParse({ caseId: 'c', version: 1, stage: 'planned' }).success).toBe(false);
  });
});

describe('worksWith', () => {
  const participants = [
    { organisationId: 'anitp', purposes: new Set(['coordination' as const]) },
    { organisationId: 'ngo', purposes: new Set(['notifier' as const]) },
    { organisationId: 'consulate', purposes: new Set(['travel_documents' as const]) },
    { organisationId: 'dgaspc', purposes: new Set(['child_protection' as const]) },
    { organisationId: 'psych', purposes: new Set(['service_provision' as const]) },
    { organisationId: 'legal', purposes: new Set(['proceedings_support' as const]) },
    { organisationId: 'police', purposes: new Set(['law_enforcement' as const]) },
  ];
  const referrals = [{ madeBy: 'anitp', providerOrgId: 'psych' }];

  it('shows a notifier the contact point and the return parties, not the providers or the proceedings', () => {
    expect([...worksWith({ viewer: 'ngo', participants, referrals })].sort()).toEqual(['anitp', 'consulate', 'dgaspc', 'ngo']);
  });
  it('shows a provider the contact point and who made its referral; the contact point everyone', () => {
    expect([...worksWith({ viewer: 'psych', participants, referrals })].sort()).toEqual(['anitp', 'psych']);
    expect(worksWith({ viewer: 'anitp', participants, referrals }).size).toBe(participants.length);
  });
  it('shows the parties of proceedings duties to each other, and the consulate only the destination partner', () => {
    expect([...worksWith({ viewer: 'legal', participants, referrals })].sort()).toEqual(['anitp', 'legal', 'police']);
    expect([...worksWith({ viewer: 'consulate', participants, referrals })].sort()).toEqual(['anitp', 'consulate', 'ngo']);
  });
});

describe('caseTimelineCell', () => {
  it('takes the richest cell of the caller\'s purposes, and related-entry from related and entry', () => {
    expect(caseTimelineCell('RiskFlagRaised', new Set(['travel_documents']))).toBeUndefined();
    expect(caseTimelineCell('RiskFlagRaised', new Set(['child_protection']))).toBe('entry');
    expect(caseTimelineCell('CaseClosed', new Set(['travel_documents', 'notifier']))).toBe('all');
    expect(caseTimelineCell('ServiceReferralMade', new Set(['service_provision', 'notifier']))).toBe('related');
    expect(caseTimelineCell('UnknownEvent', new Set(['notifier']))).toBeUndefined();
    expect(caseTimelineCell('UnknownEvent', new Set(['coordination']))).toBe('all');
  });
});

describe('fieldPaths', () => {
  it('lists nested fields through arrays, leaves named leaves alone', () => {
    expect(fieldPaths({ a: [{ b: 1 }, { c: { d: 2 } }], e: { f: 1 } }, '', new Set(['e']))).toEqual(['a', 'a.b', 'a.c', 'a.c.d', 'e']);
  });
});
