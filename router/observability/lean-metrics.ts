// Lean counters and histograms for the metrics the router updates on every request. prom-client's bound children
// still rebuild and validate the label object, hash it into a string and look the bucket up by a stringified bound on
// every `inc`/`observe`; these keep one plain record per label set, so an update is a few field writes. They
// register in the same prom-client Registry (which only needs `name`, `help`, `type` and `get()`), and `/metrics`
// prints them exactly as prom-client prints its own (router/observability/lean-metrics.test.ts compares the two).
import type { Metric, Registry } from 'prom-client';

type Labels<L extends string> = Readonly<Record<L, string | number>>;

/** What prom-client's Registry reads from a metric's `get()` (its own type for this is not exported). */
export interface LeanMetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
}

interface LeanMetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: readonly Registry[];
}

export interface CounterChild {
  inc(value?: number): void;
}

export interface HistogramChild {
  observe(value: number): void;
}

abstract class LeanMetric<L extends string, Child> {
  // Not readonly: prom-client renames counters in place when it serves OpenMetrics.
  name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  protected readonly labelNames: readonly L[];
  protected readonly children = new Map<string, { labels: Record<string, string>; child: Child }>();

  constructor(options: LeanMetricOptions<L>) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    // prom-client's Registry stores any object with name/help/type/get(); its `Metric` type lists only its own classes.
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The child for one label set: created once, then a map lookup (callers on the hot path keep the child). */
  labels(labels: Labels<L>): Child {
    let key = '';
    for (const name of this.labelNames) key += `${labels[name] ?? ''}\u0000`;
    let found = this.children.get(key);
    if (!found) {
      const copy: Record<string, string> = {};
      for (const name of this.labelNames) copy[name] = String(labels[name] ?? '');
      found = { labels: copy, child: this.createChild() };
      this.children.set(key, found);
    }
    return found.child;
  }

  protected abstract createChild(): Child;
}

class LeanCounterChild implements CounterChild {
  value = 0;
  inc(value = 1): void {
    if (!(value >= 0) || value === Infinity)
      throw new TypeError(`Counter increment must be a finite value ≥ 0, got ${value}`);
    this.value += value;
  }
}

export class LeanCounter<L extends string> extends LeanMetric<L, LeanCounterChild> {
  readonly type = 'counter' as const;

  inc(labels: Labels<L>, value = 1): void {
    this.labels(labels).inc(value);
  }

  protected createChild(): LeanCounterChild {
    return new LeanCounterChild();
  }

  get(): Promise<LeanMetricSnapshot> {
    const values: LeanMetricSnapshot['values'] = [];
    for (const { labels, child } of this.children.values()) values.push({ labels, value: child.value });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    for (const { child } of this.children.values()) child.value = 0;
  }
}

class LeanHistogramChild implements HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Histogram observation must be finite, got ${value}`);
    const bounds = this.bounds;
    for (let index = 0; index < bounds.length; index++) {
      if (value <= bounds[index]!) {
        this.counts[index]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

export class LeanHistogram<L extends string> extends LeanMetric<L, LeanHistogramChild> {
  readonly type = 'histogram' as const;
  private readonly bounds: readonly number[];

  constructor(options: LeanMetricOptions<L> & { buckets: readonly number[] }) {
    super(options);
    this.bounds = [...options.buckets].sort((a, b) => a - b);
  }

  observe(labels: Labels<L>, value: number): void {
    this.labels(labels).observe(value);
  }

  protected createChild(): LeanHistogramChild {
    return new LeanHistogramChild(this.bounds);
  }

  get(): Promise<LeanMetricSnapshot> {
    const values: LeanMetricSnapshot['values'] = [];
    for (const { labels, child } of this.children.values()) {
      let cumulative = 0;
      for (let index = 0; index < this.bounds.length; index++) {
        cumulative += child.counts[index]!;
        values.push({
          labels: { le: this.bounds[index]!, ...labels },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({ labels: { le: '+Inf', ...labels }, value: child.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: child.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: child.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    for (const { child } of this.children.values()) {
      child.counts.fill(0);
      child.sum = 0;
      child.count = 0;
    }
  }
}
