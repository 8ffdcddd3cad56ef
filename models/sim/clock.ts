// Simulated time. The engine reasons in simulated milliseconds; a clock maps them to real timers.
// RealClock runs `speed`× faster than the wall clock (speed 1 = real time); VirtualClock only moves when a test
// advances it, so engine tests are instant and deterministic.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Simulated milliseconds since the clock started. */
  now(): number;
  /** Run `callback` once `delayMs` simulated milliseconds from now (≤ 0 → as soon as possible). */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  /** Simulated ms per real ms. */
  readonly speed: number;
}

export class RealClock implements Clock {
  readonly speed: number;
  private readonly origin = performance.now();

  constructor(speed = 1) {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new Error(`speed must be a positive number, got ${speed}`);
    this.speed = speed;
  }

  now(): number {
    return (performance.now() - this.origin) * this.speed;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const realDelay = Math.max(0, delayMs / this.speed);
    if (realDelay < 0.5) {
      // setTimeout has a 1 ms floor; an immediate keeps fast-forwarded steps from stretching.
      const immediate = setImmediate(callback);
      return { cancel: () => clearImmediate(immediate) };
    }
    const timeout = setTimeout(callback, realDelay);
    return { cancel: () => clearTimeout(timeout) };
  }
}

interface PendingTimer {
  at: number;
  order: number;
  callback: () => void;
  cancelled: boolean;
}

/** A clock that moves only when told: `advance(ms)` fires due timers in time order. */
export class VirtualClock implements Clock {
  readonly speed = Number.POSITIVE_INFINITY;
  private current = 0;
  private order = 0;
  private timers: PendingTimer[] = [];

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer: PendingTimer = {
      at: this.current + Math.max(0, delayMs),
      order: this.order++,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Pending (uncancelled) timers. */
  get pending(): number {
    return this.timers.filter((timer) => !timer.cancelled).length;
  }

  /** Advance by `ms`, firing every timer due on the way (timers set by callbacks included). */
  advance(ms: number): void {
    this.runUntil(this.current + ms);
  }

  /** Fire timers until none is left or `maxTimers` fired (a guard against a runaway loop). Returns the timers fired. */
  runAll(maxTimers = 1_000_000): number {
    let fired = 0;
    while (fired < maxTimers) {
      const next = this.popNext(Number.POSITIVE_INFINITY);
      if (!next) return fired;
      this.current = Math.max(this.current, next.at);
      next.callback();
      fired++;
    }
    throw new Error(`VirtualClock.runAll: more than ${maxTimers} timers fired`);
  }

  private runUntil(target: number): void {
    for (;;) {
      const next = this.popNext(target);
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.callback();
    }
    this.current = Math.max(this.current, target);
  }

  private popNext(limit: number): PendingTimer | undefined {
    this.timers = this.timers.filter((timer) => !timer.cancelled);
    let best: PendingTimer | undefined;
    for (const timer of this.timers) {
      if (timer.at > limit) continue;
      if (!best || timer.at < best.at || (timer.at === best.at && timer.order < best.order)) best = timer;
    }
    if (best) this.timers.splice(this.timers.indexOf(best), 1);
    return best;
  }
}
