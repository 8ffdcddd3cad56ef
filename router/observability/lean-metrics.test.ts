import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LeanCounter, LeanHistogram } from './lean-metrics.ts';

const BUCKETS = [0.00001, 0.0001, 0.001, 0.01, 0.1, 1];

/** The same updates applied to a prom-client metric and to a lean one, in two registries. */
function pair(): { reference: Registry; lean: Registry } {
  return { reference: new Registry(), lean: new Registry() };
}

describe('lean metrics print exactly what prom-client prints', () => {
  it('counters: labelled children, direct inc with labels, increments by n', async () => {
    const { reference, lean } = pair();
    const promCounter = new Counter({
      name: 'x_requests_total',
      help: 'Requests.',
      labelNames: ['endpoint', 'status'],
      registers: [reference],
    });
    const leanCounter = new LeanCounter({
      name: 'x_requests_total',
      help: 'Requests.',
      labelNames: ['endpoint', 'status'],
      registers: [lean],
    });
    const updates: Array<[string, string, number]> = [
      ['/v1/chat/completions', '200', 1],
      ['/v1/chat/completions', '200', 1],
      ['/v1/completions', '400', 3],
      ['/v1/chat/completions', 'client_closed', 0.5],
    ];
    for (const [endpoint, status, value] of updates) {
      promCounter.labels({ endpoint, status }).inc(value);
      leanCounter.labels({ endpoint, status }).inc(value);
    }
    promCounter.inc({ endpoint: '/v1/embeddings', status: '200' }, 7);
    leanCounter.inc({ endpoint: '/v1/embeddings', status: '200' }, 7);
    expect(await lean.metrics()).toBe(await reference.metrics());
    expect(await lean.metrics()).toContain('x_requests_total{endpoint="/v1/completions",status="400"} 3');
  });

  it('histograms: cumulative buckets, +Inf, sum and count per label set, values on a bound counted in it', async () => {
    const { reference, lean } = pair();
    const promHistogram = new Histogram({
      name: 'x_stage_seconds',
      help: 'Stages.',
      labelNames: ['stage'],
      buckets: BUCKETS,
      registers: [reference],
    });
    const leanHistogram = new LeanHistogram({
      name: 'x_stage_seconds',
      help: 'Stages.',
      labelNames: ['stage'],
      buckets: BUCKETS,
      registers: [lean],
    });
    const observations: Array<[string, number]> = [
      ['validate', 0.000004],
      ['validate', 0.0001],
      ['route', 0.02],
      ['route', 5],
      ['overhead', 0.00005],
      ['validate', 0.3],
    ];
    for (const [stage, value] of observations) {
      promHistogram.labels({ stage }).observe(value);
      leanHistogram.labels({ stage }).observe(value);
    }
    promHistogram.observe({ stage: 'route' }, 0.001);
    leanHistogram.observe({ stage: 'route' }, 0.001);
    const text = await lean.metrics();
    expect(text).toBe(await reference.metrics());
    expect(text).toContain('x_stage_seconds_bucket{le="0.0001",stage="validate"} 2');
    expect(text).toContain('x_stage_seconds_bucket{le="+Inf",stage="route"} 3');
    expect(text).toContain('x_stage_seconds_count{stage="validate"} 3');
  });

  it('rejects what prom-client rejects: negative or non-finite updates', () => {
    const counter = new LeanCounter({ name: 'x_total', help: 'x', labelNames: ['a'], registers: [] });
    const histogram = new LeanHistogram({
      name: 'x_seconds',
      help: 'x',
      labelNames: ['a'],
      buckets: BUCKETS,
      registers: [],
    });
    expect(() => counter.labels({ a: '1' }).inc(-1)).toThrow(TypeError);
    expect(() => counter.labels({ a: '1' }).inc(Number.NaN)).toThrow(TypeError);
    expect(() => histogram.labels({ a: '1' }).observe(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });

  it('reset zeroes values but keeps bound children working; a second metric of the same name is refused', async () => {
    const registry = new Registry();
    const counter = new LeanCounter({ name: 'x_total', help: 'x', labelNames: ['a'], registers: [registry] });
    const child = counter.labels({ a: 'kept' });
    child.inc(4);
    counter.reset();
    child.inc(2);
    expect(await registry.metrics()).toContain('x_total{a="kept"} 2');
    expect(() => new LeanCounter({ name: 'x_total', help: 'x', labelNames: ['a'], registers: [registry] })).toThrow(
      /already been registered/,
    );
  });
});
