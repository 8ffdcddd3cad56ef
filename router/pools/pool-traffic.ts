// Per-pool arrival and spill-over rates over a sliding window (one-second buckets), for deploy/'s autoscaler
// signals. Constant memory per pool whatever the request rate.

const BUCKET_MS = 1_000;

class SlidingCounter {
  private readonly starts: number[];
  private readonly counts: number[];

  constructor(private readonly buckets: number) {
    this.starts = new Array<number>(buckets).fill(-Infinity);
    this.counts = new Array<number>(buckets).fill(0);
  }

  add(now: number): void {
    const start = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    const slot = Math.floor(now / BUCKET_MS) % this.buckets;
    if (this.starts[slot] !== start) {
      this.starts[slot] = start;
      this.counts[slot] = 0;
    }
    this.counts[slot] = (this.counts[slot] ?? 0) + 1;
  }

  /** Events per second over the window ending now. */
  rate(now: number): number {
    const oldest = now - this.buckets * BUCKET_MS;
    let total = 0;
    for (let slot = 0; slot < this.buckets; slot++) {
      if ((this.starts[slot] ?? -Infinity) > oldest) total += this.counts[slot] ?? 0;
    }
    return total / this.buckets;
  }
}

export class PoolTraffic {
  private readonly arrivals = new Map<string, SlidingCounter>();
  private readonly spills = new Map<string, SlidingCounter>();

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly windowSeconds = 10,
  ) {}

  /** A request whose route starts at `pool` arrived. */
  arrival(pool: string): void {
    this.counter(this.arrivals, pool).add(this.clock());
  }

  /** A request of `pool` was sent past it (spill-over). */
  spill(pool: string): void {
    this.counter(this.spills, pool).add(this.clock());
  }

  requestsPerSecond(pool: string): number {
    return this.arrivals.get(pool)?.rate(this.clock()) ?? 0;
  }

  spillOverPerSecond(pool: string): number {
    return this.spills.get(pool)?.rate(this.clock()) ?? 0;
  }

  private counter(map: Map<string, SlidingCounter>, pool: string): SlidingCounter {
    let counter = map.get(pool);
    if (!counter) {
      counter = new SlidingCounter(this.windowSeconds);
      map.set(pool, counter);
    }
    return counter;
  }
}
