// Conformance suite of the GenerationEngine contract, run against every implementation.
import { describe, expect, it } from 'vitest';
import { MODELS } from '../catalog/models.ts';
import { GPUS } from '../catalog/gpus.ts';
import { createStepTimeModel } from '../step-time.ts';
import { VirtualClock } from './clock.ts';
import type { FinishCause, GenerationEngine, RequestTimings } from './contracts.ts';
import { SimEngine } from './engine.ts';
import { HostedEngine } from './hosted-engine.ts';

const implementations: Record<string, (clock: VirtualClock) => GenerationEngine> = {
  SimEngine: (clock) =>
    new SimEngine({
      clock,
      stepTime: createStepTimeModel({ model: MODELS['llama-3.1-8b'], gpu: GPUS.l4 }),
      totalBlocks: 1000,
      maxNumSeqs: 8,
      maxNumBatchedTokens: 2048,
    }),
  HostedEngine: (clock) => new HostedEngine(clock, { ttftMs: 100, msPerToken: 5, msPerPromptToken: 0 }),
};

const prompt = Array.from({ length: 100 }, (_, index) => 1000 + index);

for (const [name, create] of Object.entries(implementations)) {
  describe(`GenerationEngine conformance: ${name}`, () => {
    it('emits exactly outputTokens tokens in order, with rising times, then finishes once', () => {
      const clock = new VirtualClock();
      const engine = create(clock);
      const indexes: number[] = [];
      const times: number[] = [];
      const finishes: [FinishCause, RequestTimings][] = [];
      engine.submit(
        { id: 'a', promptTokens: prompt, outputTokens: 12 },
        {
          onToken: (index, atMs) => {
            indexes.push(index);
            times.push(atMs);
          },
          onFinish: (cause, timings) => finishes.push([cause, timings]),
        },
      );
      clock.runAll();
      expect(indexes).toEqual([...Array(12).keys()]);
      expect(times.every((time, index) => index === 0 || time > (times[index - 1] ?? 0))).toBe(true);
      expect(finishes).toHaveLength(1);
      const [cause, timings] = finishes[0] ?? ['aborted', undefined];
      expect(cause).toBe('completed');
      expect(timings?.outputTokens).toBe(12);
      expect(timings?.promptTokens).toBe(100);
      expect(timings?.firstTokenMs).toBe(times[0]);
      const stats = engine.stats();
      expect(stats.generationTokens).toBe(12);
      expect(stats.promptTokens).toBe(100);
      expect(stats.requestsFinished).toBe(1);
      expect(stats.running + stats.waiting).toBe(0);
    });

    it('abort stops tokens, reports aborted once, and leaves no timer behind', () => {
      const clock = new VirtualClock();
      const engine = create(clock);
      let tokens = 0;
      const causes: FinishCause[] = [];
      const handle = engine.submit(
        { id: 'b', promptTokens: prompt, outputTokens: 1000 },
        {
          onToken: () => tokens++,
          onFinish: (cause) => causes.push(cause),
        },
      );
      clock.advance(300);
      const before = tokens;
      expect(before).toBeGreaterThan(0);
      handle.abort();
      handle.abort();
      clock.runAll();
      expect(tokens).toBe(before);
      expect(causes).toEqual(['aborted']);
      expect(engine.stats().requestsAborted).toBe(1);
      expect(clock.pending).toBe(0);
    });

    it('observers see every token, and shutdown aborts in-flight work', () => {
      const clock = new VirtualClock();
      const engine = create(clock);
      let observed = 0;
      engine.addObserver({ onToken: () => observed++ });
      const causes: FinishCause[] = [];
      for (let index = 0; index < 3; index++) {
        engine.submit(
          { id: `c${index}`, promptTokens: prompt, outputTokens: 50 },
          { onToken: () => undefined, onFinish: (cause) => causes.push(cause) },
        );
      }
      clock.advance(200);
      expect(observed).toBe(engine.stats().generationTokens);
      engine.shutdown();
      clock.runAll();
      expect(causes).toEqual(['aborted', 'aborted', 'aborted']);
    });
  });
}
