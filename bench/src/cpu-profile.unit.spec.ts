import { describe, expect, it } from 'vitest';
import { hotspots, origin } from './cpu-profile.js';

describe('cpu profile summary', () => {
  it('names where code lives: a package, node itself, or our workspace', () => {
    expect(origin('file:///work/main/node_modules/kysely/dist/esm/x.js')).toBe('kysely');
    expect(origin('file:///work/main/node_modules/@nats-io/nats-core/lib/x.js')).toBe('@nats-io/nats-core');
    expect(origin('node:internal/streams/writable')).toBe('node:internal');
    expect(origin('file:///work/main/packages/event-store/dist/event-store.js')).toBe('packages/event-store');
    expect(origin('')).toBe('(native / idle / gc)');
  });

  it('adds self time per function and per package from the samples', () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
    const profile = {
      startTime: 0,
      endTime: 4000,
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('hash', 'file:///r/packages/event-store/dist/h.js') },
        { id: 3, callFrame: frame('compile', 'file:///r/node_modules/kysely/dist/c.js') },
      ],
      samples: [2, 2, 3, 2],
      timeDeltas: [1000, 1000, 1000, 1000],
    };
    const h = hotspots(profile);
    expect(h.total_ms).toBe(4);
    expect(h.packages[0]).toEqual({ name: 'packages/event-store', ms: 3, share: 75 });
    expect(h.functions.map((f) => f.name)).toEqual(['hash packages/event-store:1', 'compile kysely:1']);
  });
});
