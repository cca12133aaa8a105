/**
 * `node bench/dist/cpu-profile.js <file.cpuprofile> [top]`: where a profile taken with
 * `node --cpu-prof` (BENCH_CPU_PROF_DIR for the spawned services) spent its time, by self time
 * per function and by package, so a slow figure is explained before it is "optimised".
 */
import { readFile } from 'node:fs/promises';
import { formatTable } from './report.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface Hotspot {
  name: string;
  ms: number;
  share: number;
}

/** Where the code lives: a package name, `node:` for Node itself, or the file for our own code. */
export function origin(url: string): string {
  if (!url) return '(native / idle / gc)';
  if (url.startsWith('node:')) return 'node:internal';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = /\/(packages|services|apps|bench)\/([^/]+)\//.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

export function hotspots(profile: Profile, top = 25): { total_ms: number; functions: Hotspot[]; packages: Hotspot[] } {
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + (deltas[i] ?? 0) / 1000);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    if (ms === 0) continue;
    total += ms;
    const f = node.callFrame;
    const where = origin(f.url);
    const name = `${f.functionName || '(anonymous)'} ${where}${f.url && !f.url.startsWith('node:') ? `:${f.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    byPackage.set(where, (byPackage.get(where) ?? 0) + ms);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), share: total > 0 ? Math.round((ms / total) * 1000) / 10 : 0 }));
  return { total_ms: Math.round(total), functions: rank(byFunction), packages: rank(byPackage) };
}

async function main(): Promise<void> {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node bench/dist/cpu-profile.js <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const h = hotspots(JSON.parse(await readFile(file, 'utf8')) as Profile, Number(topArg ?? 25));
  const rows = (list: Hotspot[]) => list.map((x) => [x.name.slice(0, 110), String(x.ms), `${x.share} %`]);
  process.stdout.write(`${file}: ${h.total_ms} ms sampled\n\n`);
  process.stdout.write(`${formatTable(['package', 'self ms', 'share'], rows(h.packages))}\n\n`);
  process.stdout.write(`${formatTable(['function', 'self ms', 'share'], rows(h.functions))}\n`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main();
