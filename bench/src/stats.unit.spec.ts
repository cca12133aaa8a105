import { describe, expect, it } from 'vitest';
import { Samples, percentile, ratio, round } from './stats.js';

describe('percentile (nearest rank)', () => {
  it('takes the smallest sample with at least p % of the samples at or below it', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 90)).toBe(9);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(values, 100)).toBe(10);
  });

  it('sees the one slow request in a hundred at p99, not at p98', () => {
    const values = [...Array.from({ length: 99 }, () => 1), 500];
    expect(percentile(values, 99)).toBe(1);
    expect(percentile([...values, 500], 99)).toBe(500);
  });

  it('is NaN without samples and refuses a p outside 0..100', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
  });

  it('merges samples of several slots', () => {
    const a = new Samples();
    const b = new Samples();
    a.add(1);
    b.add(3);
    b.add(2);
    a.merge(b);
    expect(a.count).toBe(3);
    expect(a.percentile(50)).toBe(2);
  });
});

describe('ratio and round', () => {
  it('states no ratio when a side is missing or zero', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(null, 2)).toBeNull();
    expect(ratio(3, 0)).toBeNull();
    expect(ratio(3, Number.NaN)).toBeNull();
  });

  it('keeps three significant figures', () => {
    expect(round(1234.5678)).toBe(1235);
    expect(round(1.23456)).toBe(1.23);
    expect(round(0.012345)).toBe(0.0123);
    expect(round(0)).toBe(0);
    expect(round(Number.NaN)).toBeNull();
    expect(round(null)).toBeNull();
  });
});
