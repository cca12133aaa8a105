// The trm-audit command (bin/trm-audit.js imports this file): see run-cli.ts.
import { runCli } from './run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: process.stderr,
  stdin: process.stdin,
});
