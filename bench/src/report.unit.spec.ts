import { describe, expect, it } from 'vitest';
import { type BenchReport, TARGETS, evaluateTargets, formatTable, renderReport, valueAt } from './report.js';

function report(overrides: Partial<BenchReport> = {}): Omit<BenchReport, 'targets'> {
  return {
    date: '2026-11-22T00:00:00.000Z',
    quick: true,
    duration_s: 60,
    machine: { cores: 2, cpu: 'test', memory_gb: 24, load_at_start: 0.5, os: 'Linux', node: '20.20.2', postgres: '15.20', nats: '2.9.10' },
    append: null,
    http: null,
    propagation: null,
    ledger_verification: null,
    replay: null,
    rss_mb: {},
    not_measured: [],
    ...overrides,
  };
}

describe('targets', () => {
  it('covers every figure the issue names', () => {
    expect(TARGETS.map((t) => t.path)).toEqual([
      'append.ratio_vs_emmett.c8',
      'append.ratio_vs_emmett.c32',
      'append.ratio_vs_raw.c32',
      'http.notify.rps',
      'http.notify.p99_ms',
      'http.notify_paced.p99_ms',
      'http.notify.non2xx',
      'propagation.p99_ms',
      'propagation.ledger.p99_ms',
      'replay.events_per_s',
      'rss_mb.*',
    ]);
  });

  it('says "not measured" (null) for a section that did not run, never "met"', () => {
    const checks = evaluateTargets(report());
    expect(checks.every((c) => c.met === null && c.actual === null)).toBe(true);
  });

  it('checks each bound in its direction, the bound itself included', () => {
    const checks = evaluateTargets(report({ rss_mb: { referrals: 200, ledger: 201 }, propagation: { p99_ms: 250 } as never }));
    const byPath = Object.fromEntries(checks.map((c) => [c.path, c]));
    expect(byPath['rss_mb.referrals']!.met).toBe(true);
    expect(byPath['rss_mb.ledger']!.met).toBe(false);
    expect(byPath['propagation.p99_ms']!.met).toBe(false);
    const rps = evaluateTargets(report({ http: { notify: { rps: 1500, p99_ms: 31, non2xx: 1 } } as never }));
    const h = Object.fromEntries(rps.map((c) => [c.path, c.met]));
    expect(h).toMatchObject({ 'http.notify.rps': true, 'http.notify.p99_ms': false, 'http.notify.non2xx': false });
  });

  it('reads dotted paths and nothing past a missing node', () => {
    expect(valueAt({ a: { b: { c: 3 } } }, 'a.b.c')).toBe(3);
    expect(valueAt({ a: null }, 'a.b.c')).toBeUndefined();
  });
});

describe('rendering', () => {
  it('aligns columns: the first to the left, numbers to the right', () => {
    const text = formatTable(['name', 'n'], [
      ['a', '1'],
      ['longer', '1,000'],
    ]);
    expect(text.split('\n')).toEqual(['name        n', '------  -----', 'a           1', 'longer  1,000']);
  });

  it('prints every target with its verdict', () => {
    const partial = report({ rss_mb: { referrals: 150 } });
    const text = renderReport({ ...partial, targets: evaluateTargets(partial) });
    expect(text).toContain('peak RSS (MiB): referrals');
    expect(text).toMatch(/POST \/v1\/cases requests\/s\s+-\s+>= 1,500\s+not measured/);
    expect(text).toMatch(/referrals\s+150\s+<= 200\s+yes/);
  });
});
