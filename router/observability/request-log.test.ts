import { describe, expect, it } from 'vitest';
import { isoNow } from './request-log.ts';

describe('isoNow', () => {
  it('gives what toISOString gives, across milliseconds, seconds, days and years', () => {
    let now = 0;
    const time = isoNow(() => now);
    const instants = [
      0,
      1,
      9,
      10,
      99,
      100,
      999,
      1000,
      Date.UTC(2026, 11, 6, 23, 59, 59, 999),
      Date.UTC(2026, 11, 7, 0, 0, 0, 0),
      Date.UTC(2026, 11, 7, 0, 0, 0, 7),
      Date.UTC(2026, 11, 7, 0, 0, 1, 42),
      -1,
      -999,
      -1000,
      -1001,
      Date.UTC(10_000, 0, 1, 0, 0, 0, 5),
    ];
    for (const instant of instants) {
      now = instant;
      expect(time()).toBe(new Date(instant).toISOString());
    }
  });

  it('formats once per millisecond and keeps up when the clock steps back', () => {
    let now = Date.UTC(2026, 11, 6, 12, 0, 0, 250);
    const time = isoNow(() => now);
    const first = time();
    expect(time()).toBe(first);
    now -= 1500;
    expect(time()).toBe('2026-12-06T11:59:58.750Z');
    now += 2;
    expect(time()).toBe('2026-12-06T11:59:58.752Z');
  });
});
