import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, loadSettings } from './settings.js';

describe('benchmark settings', () => {
  it('runs the full profile by default, with latest.json in bench/results', () => {
    const s = loadSettings({});
    expect(s.quick).toBe(false);
    expect(s.replay.events).toBe(1_000_000);
    expect(s.append.writers).toEqual([1, 8, 32]);
    expect(s.out).toBe(path.join(REPO_ROOT, 'bench/results/latest.json'));
  });

  it('BENCH_QUICK=1 reduces the run; each BENCH_* figure still overrides the profile', () => {
    const s = loadSettings({ BENCH_QUICK: '1', BENCH_HTTP_SECONDS: '3' });
    expect(s.quick).toBe(true);
    expect(s.replay.events).toBeLessThan(1_000_000);
    expect(s.append.rounds).toBe(1);
    expect(s.http.seconds).toBe(3);
  });

  it('refuses a bad value and names the variable', () => {
    expect(() => loadSettings({ BENCH_REPLAY_EVENTS: '-5' })).toThrow(/BENCH_REPLAY_EVENTS/);
    expect(() => loadSettings({ BENCH_QUICK: 'yes' })).toThrow(/BENCH_QUICK/);
  });

  it('lists the sections to skip', () => {
    expect([...loadSettings({ BENCH_SKIP: 'http, replay' }).skip]).toEqual(['http', 'replay']);
  });
});
