import { Counter, Gauge, type Registry, register as defaultRegistry } from 'prom-client';

/**
 * Several relays and consumers (one per service in embedded mode) share one registry, and
 * prom-client refuses a second metric of the same name: reuse the first one.
 */
export function counter<L extends string>(registry: Registry | undefined, name: string, help: string, labelNames: L[]): Counter<L> {
  const reg = registry ?? defaultRegistry;
  const existing = reg.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [reg] });
}

export function gauge<L extends string>(registry: Registry | undefined, name: string, help: string, labelNames: L[]): Gauge<L> {
  const reg = registry ?? defaultRegistry;
  const existing = reg.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ name, help, labelNames, registers: [reg] });
}
