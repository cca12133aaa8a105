import { CASE_FIELDS } from '@trm/contracts';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { purposesIn, worksWithIn } from './case-access.js';
import { CaseFile } from './case-views.schemas.js';

function schemaPaths(schema: z.ZodType, prefix = ''): string[] {
  if (schema instanceof z.ZodNullable || schema instanceof z.ZodOptional) return schemaPaths(schema.unwrap() as z.ZodType, prefix);
  if (schema instanceof z.ZodArray) return schemaPaths(schema.element as z.ZodType, prefix);
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    return [path, ...schemaPaths(v, path)];
  });
}

describe('the case view and the access matrix', () => {
  it('names only fields the case file has', () => {
    const paths = new Set(['view', ...schemaPaths(CaseFile)]);
    expect(CASE_FIELDS.map((f) => f.path).filter((p) => !paths.has(p))).toEqual([]);
  });

  it('shows a police notifier its proceedings partners, never the return parties', () => {
    const facts = {
      participants: [
        { organisationId: 'police-it', purpose: 'notifier' },
        { organisationId: 'anitp', purpose: 'national_contact_point' },
        { organisationId: 'consulate', purpose: 'travel_documents' },
        { organisationId: 'legal', purpose: 'proceedings_support' },
      ],
      referrals: [],
      notifyingOrganisationType: 'law_enforcement',
    };
    expect([...purposesIn(facts, 'police-it')]).toEqual(['notifier']);
    expect([...worksWithIn(facts, 'police-it')].sort()).toEqual(['anitp', 'legal', 'police-it']);
    expect([...worksWithIn(facts, 'consulate')].sort()).toEqual(['anitp', 'consulate']);
  });
});
