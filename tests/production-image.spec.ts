import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The production image (Dockerfile). No Docker engine runs on the development machine, so the
 * build stage's own clean-up commands are run here, as written in the Dockerfile, on a copy of
 * what that stage holds; and the final stage is read for what it copies and sets.
 */
const DOCKERFILE = path.resolve('Dockerfile');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Instructions with their continuation lines joined, grouped by stage. */
async function stages(): Promise<Array<{ from: string; instructions: string[] }>> {
  const text = (await readFile(DOCKERFILE, 'utf8')).replace(/\\\n/g, ' ');
  const out: Array<{ from: string; instructions: string[] }> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (/^FROM /i.test(line)) out.push({ from: line, instructions: [] });
    else out.at(-1)!.instructions.push(line);
  }
  return out;
}

describe('Dockerfile', () => {
  it('runs with NODE_ENV=production, so the production guards apply', async () => {
    const final = (await stages()).at(-1)!;
    expect(final.instructions).toContain('ENV NODE_ENV=production');
  });

  it('does not ship the token command: the build stage removes it before the final stage copies the app', async () => {
    const [build, final] = await stages();
    // The final stage copies only the built app and the migrations, nothing from the context that
    // could bring the command back.
    expect(final!.instructions.filter((i) => /^COPY /i.test(i))).toEqual(['COPY --from=build /app /app', 'COPY migrations ./migrations']);
    const run = build!.instructions.find((i) => /^RUN .*npm prune/.test(i));
    expect(run, 'the build stage installs, builds and prunes in one RUN').toBeDefined();
    const commands = run!.replace(/^RUN /, '').split('&&').map((c) => c.trim());
    const cleanup = commands.slice(commands.findIndex((c) => c.startsWith('npm prune')) + 1);
    expect(cleanup.length).toBeGreaterThan(0);

    // What the build stage holds at that point, as far as the token command goes.
    const app = await mkdtemp(path.join(os.tmpdir(), 'trm-image-'));
    dirs.push(app);
    await cp('package.json', path.join(app, 'package.json'));
    await mkdir(path.join(app, 'apps/trm/src'), { recursive: true });
    await mkdir(path.join(app, 'apps/trm/dist'), { recursive: true });
    await cp('apps/trm/src/token.ts', path.join(app, 'apps/trm/src/token.ts'));
    for (const f of ['token.js', 'token.js.map', 'token.d.ts', 'token.d.ts.map', 'embedded.js']) await writeFile(path.join(app, 'apps/trm/dist', f), '// built\n');
    for (const c of cleanup) execFileSync('sh', ['-c', c], { cwd: app, stdio: 'pipe' });

    for (const f of ['apps/trm/src/token.ts', 'apps/trm/dist/token.js', 'apps/trm/dist/token.js.map', 'apps/trm/dist/token.d.ts']) {
      expect(existsSync(path.join(app, f)), f).toBe(false);
    }
    expect(existsSync(path.join(app, 'apps/trm/dist/embedded.js'))).toBe(true);
    const pkg = JSON.parse(await readFile(path.join(app, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.token).toBeUndefined();
    expect(pkg.scripts.migrate).toBeDefined();
    const npmRun = spawnSync('npm', ['run', '-s', 'token', '--', '--org', 'anitp', '--roles', 'admin'], { cwd: app, encoding: 'utf8' });
    expect(npmRun.status).not.toBe(0);
    expect(npmRun.stdout).not.toMatch(/^ey/);
  });
});
