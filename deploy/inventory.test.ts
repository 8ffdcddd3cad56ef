import { describe, expect, it } from 'vitest';
import { GpuInventory } from './inventory.ts';
import { InventoryError } from './errors.ts';

describe('GpuInventory', () => {
  it('never gives one GPU to two replicas', () => {
    const inventory = new GpuInventory(['0', '1', '2', '3']);
    const a = inventory.tryAcquire('a', 2);
    const b = inventory.tryAcquire('b', 2);
    expect(a).toHaveLength(2);
    expect(b).toHaveLength(2);
    expect(new Set([...a!, ...b!]).size).toBe(4);
    expect(inventory.tryAcquire('c', 1)).toBeUndefined();
    expect(inventory.free).toEqual([]);
  });

  it('makes a TP=4 replica wait for four free GPUs, first come first served', async () => {
    const inventory = new GpuInventory(['0', '1', '2', '3', '4', '5', '6', '7']);
    for (const owner of ['r1', 'r2', 'r3', 'r4', 'r5']) inventory.tryAcquire(owner, 1);
    const order: string[] = [];
    const big = inventory.acquire('tp4', 4).then((ids) => {
      order.push('tp4');
      return ids;
    });
    // A later TP=1 request must queue behind the TP=4 one even though 3 GPUs are free.
    const small = inventory.acquire('tp1', 1).then(() => order.push('tp1'));
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(inventory.waiting.map((waiter) => waiter.owner)).toEqual(['tp4', 'tp1']);
    inventory.release('r1');
    const ids = await big;
    expect(ids).toHaveLength(4);
    expect(order).toEqual(['tp4']);
    inventory.release('r2');
    await small;
    expect(order).toEqual(['tp4', 'tp1']);
    expect(inventory.free).toEqual([]);
  });

  it('rejects requests the host can never satisfy, and cancelled waits', async () => {
    const inventory = new GpuInventory(['0', '1']);
    expect(() => inventory.tryAcquire('x', 4)).toThrow(InventoryError);
    await expect(inventory.acquire('x', 3)).rejects.toThrow(/has 2/);
    inventory.tryAcquire('a', 2);
    const controller = new AbortController();
    const pending = inventory.acquire('b', 1, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toThrow(/cancelled/);
    expect(inventory.waiting).toEqual([]);
  });

  it('adopts GPUs held by running replicas and refuses double claims', () => {
    const inventory = new GpuInventory(['0', '1', '2', '3']);
    inventory.adopt('old-1', ['2', '3']);
    expect(inventory.free).toEqual(['0', '1']);
    expect(() => inventory.adopt('old-2', ['3'])).toThrow(/claimed by both/);
    expect(() => inventory.adopt('old-3', ['9'])).toThrow(/does not have/);
    expect(inventory.grants()).toEqual([{ owner: 'old-1', gpuIds: ['2', '3'] }]);
    inventory.release('old-1');
    expect(inventory.free).toHaveLength(4);
  });
});
