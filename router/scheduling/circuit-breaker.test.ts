import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitBreakerConfig } from './circuit-breaker.ts';
import type { CircuitState } from './contracts.ts';

function virtualClock(start = 0) {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures, half-opens after the cooldown, closes on a good probe', () => {
    const clock = virtualClock();
    const changes: string[] = [];
    const breaker = new CircuitBreaker(
      { consecutiveFailures: 3, cooldownMs: 1_000 },
      { clock: clock.read, onStateChange: (from, to) => changes.push(`${from}->${to}`) },
    );
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordSuccess(); // resets the run
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe('closed');
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.stateValue).toBe(2);
    expect(breaker.tryAcquire()).toBe(false);

    clock.now += 999;
    expect(breaker.state).toBe('open');
    clock.now += 1;
    expect(breaker.state).toBe('half-open');
    expect(breaker.stateValue).toBe(1);
    expect(breaker.tryAcquire()).toBe(true); // the probe
    expect(breaker.tryAcquire()).toBe(false); // only one at a time
    expect(breaker.schedulingState).toBe('open');
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
    expect(breaker.stateValue).toBe(0);
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('re-opens for a full cooldown when the probe fails', () => {
    const clock = virtualClock();
    const breaker = new CircuitBreaker({ consecutiveFailures: 1, cooldownMs: 500 }, { clock: clock.read });
    breaker.recordFailure();
    clock.now += 500;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    clock.now += 499;
    expect(breaker.state).toBe('open');
    clock.now += 1;
    expect(breaker.state).toBe('half-open');
  });

  it('opens on the failure rate over the window once enough requests were seen', () => {
    const clock = virtualClock();
    const breaker = new CircuitBreaker(
      { consecutiveFailures: 100, failureRate: 0.5, minRequests: 10, windowMs: 1_000 },
      { clock: clock.read },
    );
    // Alternate success/failure: never 2 failures in a row, but a 50 % rate.
    for (let index = 0; index < 8; index++) {
      if (index % 2 === 0) breaker.recordSuccess();
      else breaker.recordFailure();
      clock.now += 10;
    }
    expect(breaker.state).toBe('closed'); // 8 < minRequests
    breaker.recordSuccess();
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
  });

  it('forgets failures that slid out of the window', () => {
    const clock = virtualClock();
    const breaker = new CircuitBreaker(
      { consecutiveFailures: 100, failureRate: 0.5, minRequests: 4, windowMs: 1_000 },
      { clock: clock.read },
    );
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordSuccess();
    clock.now += 5_000; // the window moved on
    breaker.recordSuccess();
    breaker.recordSuccess();
    breaker.recordSuccess();
    breaker.recordFailure();
    expect(breaker.state).toBe('closed'); // 1 of 4 in the window
  });

  it('gives back an unused probe slot', () => {
    const clock = virtualClock();
    const breaker = new CircuitBreaker(
      { consecutiveFailures: 1, cooldownMs: 10, halfOpenProbes: 1 },
      { clock: clock.read },
    );
    breaker.recordFailure();
    clock.now += 10;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.release();
    expect(breaker.schedulingState).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('validates its config', () => {
    expect(CircuitBreakerConfig.safeParse({ failureRate: 2 }).success).toBe(false);
    expect(() => new CircuitBreaker({ cooldownMs: 0 })).toThrow();
    const states: CircuitState[] = [];
    expect(new CircuitBreaker().state).toBe('closed');
    expect(states).toEqual([]);
  });
});
