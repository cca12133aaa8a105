#!/usr/bin/env node
// Offline verifier of ledger exports; the code is in src/cli.ts (built to dist/cli.js by `tsc -b`).
import('../dist/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('trm-audit: not built yet; run `npx tsc -b` (or `make build`) first\n');
    process.exit(2);
  }
  throw err;
});
