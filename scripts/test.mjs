// Runs the whole vitest suite. The count reporter prints the closing `N passed, N failed` line;
// this wrapper only makes sure a crash before any report still ends with such a line.
import { spawn } from 'node:child_process';

const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...process.argv.slice(2)], {
  stdio: ['inherit', 'pipe', 'inherit'],
  env: process.env,
});
let sawCount = false;
child.stdout.on('data', (chunk) => {
  const text = chunk.toString();
  if (/^\d+ passed, \d+ failed/m.test(text)) sawCount = true;
  process.stdout.write(chunk);
});
child.on('exit', (code, signal) => {
  if (!sawCount) process.stdout.write(`\n0 passed, 1 failed\n`);
  process.exit(code ?? (signal ? 1 : 0));
});
