// Which GPUs exist and which replica holds each. A GPU has at most one holder; a replica asking for N GPUs gets N free
// ones at once or waits in a FIFO queue (so a TP=4 replica is not starved by a stream of TP=1 ones).
import { InventoryError } from './errors.ts';

export interface GpuGrant {
  owner: string;
  gpuIds: readonly string[];
}

interface Waiter {
  owner: string;
  count: number;
  resolve: (ids: string[]) => void;
  reject: (error: Error) => void;
  cleanup: () => void;
}

export interface AcquireOptions {
  signal?: AbortSignal;
}

export class GpuInventory {
  private readonly ids: readonly string[];
  /** gpu id → owner */
  private readonly holder = new Map<string, string>();
  private readonly waiters: Waiter[] = [];

  constructor(gpuIds: readonly string[]) {
    if (new Set(gpuIds).size !== gpuIds.length) throw new InventoryError(`duplicate GPU ids: ${gpuIds.join(',')}`);
    this.ids = [...gpuIds];
  }

  get total(): number {
    return this.ids.length;
  }

  get free(): string[] {
    return this.ids.filter((id) => !this.holder.has(id));
  }

  /** Requests waiting for GPUs, oldest first. */
  get waiting(): { owner: string; count: number }[] {
    return this.waiters.map(({ owner, count }) => ({ owner, count }));
  }

  grants(): GpuGrant[] {
    const byOwner = new Map<string, string[]>();
    for (const id of this.ids) {
      const owner = this.holder.get(id);
      if (owner !== undefined) byOwner.set(owner, [...(byOwner.get(owner) ?? []), id]);
    }
    return [...byOwner].map(([owner, gpuIds]) => ({ owner, gpuIds }));
  }

  heldBy(owner: string): string[] {
    return this.ids.filter((id) => this.holder.get(id) === owner);
  }

  /** Take `count` free GPUs now, or undefined (also when others are already waiting: first come, first served). */
  tryAcquire(owner: string, count: number): string[] | undefined {
    this.validate(owner, count);
    if (this.waiters.length > 0) return undefined;
    return this.take(owner, count);
  }

  /** Take `count` GPUs, waiting (FIFO) until enough are free. Rejects at once if the host has fewer than `count`. */
  acquire(owner: string, count: number, options: AcquireOptions = {}): Promise<string[]> {
    try {
      this.validate(owner, count);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (this.waiters.length === 0) {
      const ids = this.take(owner, count);
      if (ids) return Promise.resolve(ids);
    }
    return new Promise<string[]>((resolve, reject) => {
      const { signal } = options;
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(new InventoryError(`waiting for ${count} GPU(s) for ${owner} was cancelled`));
        this.serveWaiters();
      };
      const waiter: Waiter = {
        owner,
        count,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      if (signal?.aborted) {
        reject(new InventoryError(`waiting for ${count} GPU(s) for ${owner} was cancelled`));
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Record GPUs an existing replica already holds (adoption). Throws when another owner holds one of them. */
  adopt(owner: string, gpuIds: readonly string[]): void {
    for (const id of gpuIds) {
      if (!this.ids.includes(id))
        throw new InventoryError(`replica ${owner} holds GPU ${id}, which this host does not have`);
      const current = this.holder.get(id);
      if (current !== undefined && current !== owner) {
        throw new InventoryError(`GPU ${id} is claimed by both ${current} and ${owner}`);
      }
    }
    for (const id of gpuIds) this.holder.set(id, owner);
  }

  release(owner: string): void {
    for (const [id, holder] of this.holder) if (holder === owner) this.holder.delete(id);
    this.serveWaiters();
  }

  private validate(owner: string, count: number): void {
    if (!Number.isInteger(count) || count < 0)
      throw new InventoryError(`GPU count must be a whole number ≥ 0, got ${count}`);
    if (count > this.ids.length) {
      throw new InventoryError(`${owner} needs ${count} GPU(s) but this host has ${this.ids.length}`);
    }
    if (this.heldBy(owner).length > 0)
      throw new InventoryError(`${owner} already holds GPUs ${this.heldBy(owner).join(',')}`);
  }

  private take(owner: string, count: number): string[] | undefined {
    const free = this.free;
    if (free.length < count) return undefined;
    const ids = free.slice(0, count);
    for (const id of ids) this.holder.set(id, owner);
    return ids;
  }

  private serveWaiters(): void {
    while (this.waiters.length > 0) {
      const head = this.waiters[0]!;
      const ids = this.take(head.owner, head.count);
      if (!ids) return;
      this.waiters.shift();
      head.cleanup();
      head.resolve(ids);
    }
  }
}
