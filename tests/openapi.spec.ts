import { readFile } from 'node:fs/promises';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { OPENAPI_FILE, generateOpenApi } from '../apps/trm/src/openapi.js';

describe('openapi/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document, identical to what the code generates (run `make openapi`)', async () => {
    const generated = await generateOpenApi();
    const committed = await readFile(OPENAPI_FILE, 'utf8');
    const doc = JSON.parse(generated);
    expect(doc.openapi).toMatch(/^3\.1\./);
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(committed, 'openapi/openapi.json is stale: run `make openapi` and commit it').toBe(generated);
  });

  it('has an example for every request body', async () => {
    const doc = JSON.parse(await readFile(OPENAPI_FILE, 'utf8'));
    const missing: string[] = [];
    for (const [path, ops] of Object.entries<Record<string, { requestBody?: { content: Record<string, { example?: unknown }> } }>>(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const body = op.requestBody?.content['application/json'];
        if (body && body.example === undefined) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
