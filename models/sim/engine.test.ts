// The engine under a virtual clock: load shapes TTFT, ITL, KV usage, queueing, preemption and prefix caching.
import { describe, expect, it } from 'vitest';
import { MODELS } from '../catalog/models.ts';
import { GPUS } from '../catalog/gpus.ts';
import { createStepTimeModel } from '../step-time.ts';
import { type Clock, VirtualClock } from './clock.ts';
import { type EngineConfig, type RequestTimings, SimEngine } from './engine.ts';
import { encode, pseudoText } from './tokenizer.ts';

const stepTime = createStepTimeModel({ model: MODELS['llama-3.1-8b'], gpu: GPUS.h100 });

function makeEngine(overrides: Partial<EngineConfig> = {}): { engine: SimEngine; clock: VirtualClock } {
  const clock = new VirtualClock();
  const engine = new SimEngine({
    clock,
    stepTime,
    totalBlocks: 20_000,
    maxNumSeqs: 256,
    maxNumBatchedTokens: 8192,
    ...overrides,
  });
  return { engine, clock };
}

interface Outcome {
  tokens: number[];
  timings?: RequestTimings;
}

function submit(engine: SimEngine, prompt: readonly number[], outputTokens: number, id = 'r'): Outcome {
  const outcome: Outcome = { tokens: [] };
  engine.submit(
    { id, promptTokens: prompt, outputTokens },
    {
      onToken: (_index, atMs) => outcome.tokens.push(atMs),
      onFinish: (_cause, timings) => {
        outcome.timings = timings;
      },
    },
  );
  return outcome;
}

const ttft = (outcome: Outcome): number => (outcome.tokens[0] ?? Number.NaN) - (outcome.timings?.arrivalMs ?? 0);
function meanItl(outcome: Outcome): number {
  const gaps = outcome.tokens.slice(1).map((at, index) => at - (outcome.tokens[index] ?? at));
  return gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
}
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
const medianItl = (outcome: Outcome): number =>
  median(outcome.tokens.slice(1).map((at, index) => at - (outcome.tokens[index] ?? at)));
const promptOf = (seed: number, tokens: number): number[] => encode(pseudoText(seed, tokens));

describe('SimEngine', () => {
  it('one 8B stream on an H100 decodes at the step model’s single-sequence latency (~7-9 ms/token)', () => {
    const { engine, clock } = makeEngine();
    const outcome = submit(engine, promptOf(1, 200), 100);
    clock.runAll();
    expect(outcome.tokens).toHaveLength(100);
    const itl = meanItl(outcome);
    expect(itl).toBeGreaterThan(6);
    expect(itl).toBeLessThan(10);
    expect(itl / stepTime.decodeStepMs(1, 250)).toBeCloseTo(1, 1);
  });

  it('TTFT grows with queue length', () => {
    const single = makeEngine({ maxNumSeqs: 4 });
    const alone = submit(single.engine, promptOf(2, 256), 64);
    single.clock.runAll();

    const busy = makeEngine({ maxNumSeqs: 4 });
    const queue = Array.from({ length: 16 }, (_, index) =>
      submit(busy.engine, promptOf(100 + index, 256), 64, `q${index}`),
    );
    busy.clock.runAll();
    const ttfts = queue.map(ttft);
    // Each wave of 4 waits for the previous wave: TTFT rises monotonically by wave.
    const wave = (index: number): number => ttfts.slice(index * 4, index * 4 + 4).reduce((a, b) => a + b, 0) / 4;
    expect(wave(1)).toBeGreaterThan(wave(0) * 2);
    expect(wave(3)).toBeGreaterThan(wave(2));
    expect(wave(3)).toBeGreaterThan(ttft(alone) * 10);
  });

  it('ITL grows with batch size as the step model says', () => {
    const one = makeEngine();
    const solo = submit(one.engine, promptOf(3, 512), 128);
    one.clock.runAll();

    const many = makeEngine();
    const batch = Array.from({ length: 128 }, (_, index) =>
      submit(many.engine, promptOf(200 + index, 512), 128, `b${index}`),
    );
    many.clock.runAll();
    // Steady state: the median gap (the first gaps also pay for the other requests' prefills).
    const batchItl = median(batch.map(medianItl));
    const soloItl = medianItl(solo);
    expect(batchItl).toBeGreaterThan(soloItl * 1.3);
    const predicted = stepTime.decodeStepMs(128, 512 + 64) / stepTime.decodeStepMs(1, 512 + 64);
    expect(batchItl / soloItl).toBeGreaterThan(predicted * 0.85);
    expect(batchItl / soloItl).toBeLessThan(predicted * 1.15);
    // Throughput still rises with batching: 128 streams produce far more tokens per ms than one.
    expect(128 / batchItl).toBeGreaterThan((1 / soloItl) * 30);
  });

  it('KV usage rises with concurrent long contexts and requests wait when it is full', () => {
    const { engine, clock } = makeEngine({ totalBlocks: 200 }); // 3,200 tokens
    const outcomes = Array.from({ length: 8 }, (_, index) =>
      submit(engine, promptOf(300 + index, 1000), 40, `kv${index}`),
    );
    let peakUsage = 0;
    let peakWaiting = 0;
    for (let step = 0; step < 10_000 && outcomes.some((outcome) => !outcome.timings); step++) {
      clock.advance(5);
      const stats = engine.stats();
      peakUsage = Math.max(peakUsage, stats.kvUsage);
      if (stats.running > 0) peakWaiting = Math.max(peakWaiting, stats.waiting);
    }
    expect(peakUsage).toBeGreaterThan(0.8);
    expect(peakWaiting).toBeGreaterThanOrEqual(4);
    expect(outcomes.every((outcome) => outcome.tokens.length === 40)).toBe(true);
    expect(engine.stats().kvUsage).toBe(0);
    // The last ones waited for blocks: their TTFT dwarfs the first one's.
    expect(ttft(outcomes[7] as Outcome)).toBeGreaterThan(ttft(outcomes[0] as Outcome) * 3);
  });

  it('preempts (recompute) when decode needs a block and none is free, and still finishes every request exactly', () => {
    const { engine, clock } = makeEngine({ totalBlocks: 24 }); // 384 tokens
    const outcomes = Array.from({ length: 4 }, (_, index) =>
      submit(engine, promptOf(400 + index, 40), 120, `p${index}`),
    );
    clock.runAll();
    const stats = engine.stats();
    expect(stats.preemptions).toBeGreaterThan(0);
    expect(outcomes.map((outcome) => outcome.tokens.length)).toEqual([120, 120, 120, 120]);
    expect(outcomes.some((outcome) => (outcome.timings?.preemptions ?? 0) > 0)).toBe(true);
    expect(stats.usedBlocks).toBe(0);
    expect(stats.generationTokens).toBe(480);
  });

  it('prefix caching: a repeated system prompt hits cached blocks and prefills faster', () => {
    const { engine, clock } = makeEngine();
    const system = promptOf(5, 1024);
    const first = submit(engine, [...system, ...promptOf(6, 40)], 8, 'first');
    clock.runAll();
    const second = submit(engine, [...system, ...promptOf(7, 40)], 8, 'second');
    clock.runAll();
    expect(first.timings?.cachedPromptTokens).toBe(0);
    expect(second.timings?.cachedPromptTokens).toBe(1024);
    expect(ttft(second)).toBeLessThan(ttft(first) * 0.5);
    const stats = engine.stats();
    expect(stats.prefixHitTokens).toBe(1024);
    expect(stats.prefixQueryTokens).toBe(2 * (1024 + 40));
  });

  it('without prefix caching the same prompt is prefilled again', () => {
    const { engine, clock } = makeEngine({ enablePrefixCaching: false });
    const prompt = promptOf(8, 1024);
    const first = submit(engine, prompt, 4, 'a');
    clock.runAll();
    const second = submit(engine, prompt, 4, 'b');
    clock.runAll();
    expect(second.timings?.cachedPromptTokens).toBe(0);
    expect(ttft(second)).toBeCloseTo(ttft(first), 3);
  });

  it('chunks long prompts within max_num_batched_tokens', () => {
    const { engine, clock } = makeEngine({ maxNumBatchedTokens: 512 });
    const steps: number[] = [];
    engine.addObserver({ onStep: (info) => steps.push(info.scheduledTokens) });
    submit(engine, promptOf(9, 2000), 4);
    clock.runAll();
    expect(Math.max(...steps)).toBeLessThanOrEqual(512);
    expect(steps.slice(0, 4)).toEqual([512, 512, 512, 464]);
  });

  it('idles with no timer when empty, and an abort frees the blocks', () => {
    const { engine, clock } = makeEngine();
    expect(clock.pending).toBe(0);
    let cause: string | undefined;
    const handle = engine.submit(
      { id: 'x', promptTokens: promptOf(10, 300), outputTokens: 1000 },
      { onToken: () => undefined, onFinish: (finishCause) => (cause = finishCause) },
    );
    clock.advance(50);
    expect(engine.stats().usedBlocks).toBeGreaterThan(0);
    handle.abort();
    expect(cause).toBe('aborted');
    clock.runAll();
    expect(engine.stats().usedBlocks).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('keeps exact step times when the host runs late: a new arrival does not stall running streams', () => {
    const inner = new VirtualClock();
    // Every timer fires 40 ms late, as on an overloaded host; the engine's timeline must not stretch.
    const laggy: Clock = {
      speed: 1,
      now: () => inner.now(),
      setTimer: (delay, callback) => inner.setTimer(delay + 40, callback),
    };
    const engine = new SimEngine({
      clock: laggy,
      stepTime,
      totalBlocks: 20_000,
      maxNumSeqs: 256,
      maxNumBatchedTokens: 8192,
    });
    const first = submit(engine, promptOf(14, 100), 200, 'first');
    inner.advance(1000);
    const second = submit(engine, promptOf(15, 100), 20, 'second');
    inner.runAll();
    expect(first.tokens).toHaveLength(200);
    expect(second.tokens).toHaveLength(20);
    const gaps = first.tokens.slice(1).map((at, index) => at - (first.tokens[index] ?? at));
    expect(Math.max(...gaps)).toBeLessThan(medianItl(first) * 3);
    expect(ttft(second)).toBeGreaterThan(0);
    expect(engine.stats().maxLagMs).toBeGreaterThan(30);
  });

  it('a throwing listener does not stall the other requests', () => {
    const { engine, clock } = makeEngine();
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      engine.submit(
        { id: 'bad', promptTokens: promptOf(12, 50), outputTokens: 5 },
        {
          onToken: () => {
            throw new Error('listener bug');
          },
          onFinish: () => undefined,
        },
      );
      const good = submit(engine, promptOf(13, 50), 5, 'good');
      clock.runAll();
      expect(good.tokens).toHaveLength(5);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      console.error = original;
    }
  });

  it('refuses a request the whole cache could never hold', () => {
    const { engine } = makeEngine({ totalBlocks: 4 });
    expect(() => submit(engine, promptOf(11, 60), 10)).toThrow(/KV cache/);
  });
});
