import { RETURN_FIELDS, RETURN_TIMELINE } from '@trm/contracts';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CaseFacts } from '../domain/case-facts.js';
import { initialReturnState } from '../domain/return.decider.js';
import { admittedBy, projectReturn, returnPurposesOf, seesReturn } from './return-access.js';
import { FullReturnDetailView } from './return.schemas.js';

/** Every field path of a zod schema (arrays transparent). */
function schemaPaths(schema: z.ZodType, prefix = ''): string[] {
  if (schema instanceof z.ZodNullable || schema instanceof z.ZodOptional) return schemaPaths(schema.unwrap() as z.ZodType, prefix);
  if (schema instanceof z.ZodArray) return schemaPaths(schema.element as z.ZodType, prefix);
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    return [path, ...schemaPaths(v, path)];
  });
}

const facts: CaseFacts = {
  caseId: 'c',
  notifyingOrganisationId: 'police-it',
  nationalContactPointIds: ['anitp'],
  regionalCentreId: 'anitp-rc',
  participants: [
    { organisationId: 'police-it', purpose: 'notifier' },
    { organisationId: 'anitp', purpose: 'national_contact_point' },
    { organisationId: 'iom-it', purpose: 'return' },
    { organisationId: 'police-escort', purpose: 'law_enforcement' },
  ],
  returnConsent: true,
  minor: false,
  birthYear: null,
  ageAtIdentification: 30,
  identificationDate: '2026-11-18',
  notifiedAt: '2026-11-18T09:00:00.000Z',
};

describe('the return view and the access matrix', () => {
  it('names only fields the return view has, and events that change one', () => {
    const paths = new Set(schemaPaths(FullReturnDetailView));
    expect(RETURN_FIELDS.map((f) => f.path).filter((p) => !paths.has(p))).toEqual([]);
    expect(Object.values(RETURN_TIMELINE).filter((p) => !paths.has(p))).toEqual([]);
  });

  it('makes a police notifier law enforcement (no return for it), and the escort an escort', () => {
    const state = { ...initialReturnState(), travelPlan: { departureDate: '2026-12-10', mode: 'air' as const, departureCountry: 'IT' as const, transitCountries: [], escortOrganisationId: 'police-escort', pointOfArrival: 'OTP' } };
    const police = returnPurposesOf(facts, state, 'police-it', 'law_enforcement');
    expect([...police]).toEqual(['law_enforcement']);
    expect(seesReturn(police)).toBe(false);
    const escort = returnPurposesOf(facts, state, 'police-escort', 'law_enforcement');
    expect([...escort].sort()).toEqual(['escort', 'law_enforcement']);
    expect(projectReturn({ returnId: 'r', travelPlan: state.travelPlan, followUps: [] }, escort)).toEqual({ returnId: 'r', travelPlan: state.travelPlan });
    expect([...returnPurposesOf(facts, null, 'anitp-rc', 'national_contact_point')]).toEqual(['coordination']);
  });

  it('admits in listings the stored purposes of the admitted ones, a police notifier only as law enforcement', () => {
    expect(admittedBy(['coordination', 'notifier'], 'ngo').participantPurposes.sort()).toEqual(['national_contact_point', 'notifier', 'regional_centre']);
    expect(admittedBy(['coordination', 'notifier'], 'law_enforcement').participantPurposes).not.toContain('notifier');
    expect(admittedBy(['law_enforcement'], 'law_enforcement').participantPurposes).toContain('notifier');
  });
});
