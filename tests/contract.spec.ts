import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generateOpenApi } from '../apps/trm/src/openapi.js';

const run = promisify(execFile);

/**
 * The contract partners generate clients from: every operation has a stable operationId, a tag,
 * and the problem responses it can give with the shared RFC 9457 schema; `redocly lint` with the
 * committed configuration (redocly.yaml) finds no error.
 */
describe('the OpenAPI contract', () => {
  it('names every operation once, tags it, and documents its problems', async () => {
    const doc = JSON.parse(await generateOpenApi());
    const ids: string[] = [];
    for (const [p, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        expect(op.operationId, `${method} ${p}`).toMatch(/^[a-z][A-Za-z0-9]+$/);
        ids.push(op.operationId);
        expect(op.tags?.length, `${method} ${p} tags`).toBeGreaterThan(0);
        const statuses = Object.keys(op.responses);
        if (op.security?.length !== 0) expect(statuses, `${method} ${p}`).toEqual(expect.arrayContaining(['401', '403', '429', '503']));
        if (op.requestBody) expect(statuses, `${method} ${p}`).toEqual(expect.arrayContaining(['400', '413', '415', '422']));
        if ((op.parameters ?? []).some((x: { in: string }) => x.in === 'path')) expect(statuses, `${method} ${p}`).toContain('404');
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.paths['/v1/cases'].post.operationId).toBe('notifyCase');
    expect(doc.paths['/v1/cases/{caseId}/acknowledgement'].post.operationId).toBe('acknowledgeNotification');
    expect(doc.components.responses.Problem409.content['application/problem+json'].schema.allOf[1].properties.code.enum).toContain('case-closed');
    expect(doc.servers.length).toBeGreaterThan(0);
    expect(doc.info.license.name).toBeTruthy();
  });

  it('passes redocly lint with the committed configuration', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'trm-contract-'));
    try {
      const file = path.join(dir, 'openapi.json');
      await writeFile(file, await generateOpenApi());
      const bin = path.resolve('node_modules/.bin/redocly');
      const result = await run(bin, ['lint', file, '--config', path.resolve('redocly.yaml'), '--format', 'json'], { maxBuffer: 64 * 1024 * 1024 }).catch(
        (err: { stdout?: string; stderr?: string; code?: number }) => err,
      );
      const out = JSON.parse(result.stdout ?? '{}') as { problems?: Array<{ ruleId: string; severity: string; message: string; location?: Array<{ pointer?: string }> }> };
      const warnings = (out.problems ?? []).filter((p) => p.severity === 'warn');
      console.info(`redocly lint: ${warnings.length} warnings (${[...new Set(warnings.map((w) => w.ruleId))].join(', ') || 'none'})`);
      const errors = (out.problems ?? []).filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer ?? '?'}`);
      expect(errors).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
