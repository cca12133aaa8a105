import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ACCESS_DOC_FILE, generateAccessDoc } from '../apps/trm/src/access-doc.js';

describe('docs/ACCESS.md', () => {
  it('is what the access matrix generates (run `make access-doc`)', async () => {
    const committed = await readFile(ACCESS_DOC_FILE, 'utf8');
    expect(committed, 'docs/ACCESS.md is stale: run `make access-doc` and commit it').toBe(generateAccessDoc());
  });

  it('has one table per service, with a row per route and per field of the per-purpose answers', () => {
    const doc = generateAccessDoc();
    for (const section of ['## referrals', '## repatriation', '## proceedings', '## ledger', '## statistics', '## organisation registry']) expect(doc).toContain(section);
    expect(doc).toContain('| `GET /v1/returns/:returnId` |');
    expect(doc).toContain('| return: `travelPlan` |');
    expect(doc).toContain('| case view: `participants` |');
    expect(doc).toContain('| timeline: RiskFlagRaised |');
  });
});
