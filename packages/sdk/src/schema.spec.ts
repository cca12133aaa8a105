import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { expect, it } from 'vitest';

/** The SDK's types are generated from the committed OpenAPI document: `npm run -w @trm/sdk generate`. */
it('src/schema.ts is what openapi-typescript makes of openapi/openapi.json', async () => {
  const doc = new URL('../../../openapi/openapi.json', import.meta.url);
  const generated = astToString(await openapiTS(doc));
  const committed = await readFile(fileURLToPath(new URL('./schema.ts', import.meta.url)), 'utf8');
  // The CLI adds a header comment and a trailing newline to the same AST.
  expect(committed.replace(/^\/\*\*[\s\S]*?\*\/\n\n/, '').trim()).toBe(generated.trim());
}, 60_000);
