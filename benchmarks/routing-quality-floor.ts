// The TTFT floor of a routing-quality workload (benchmarks/routing-quality.ts): what no scheduler can beat.
import { getModel } from '../models/catalog/models.ts';
import { GPUS } from '../models/catalog/gpus.ts';
import { createStepTimeModel } from '../models/step-time.ts';
import { SimEngine, VirtualClock, chatPromptTokens } from '../models/sim/index.ts';

export interface FloorItem {
  kind: 'shared-prefix' | 'long-document';
  /** For shared-prefix items the first message is the shared system prompt. */
  messages: ReadonlyArray<{ role: 'system' | 'user' | 'assistant'; content: string }>;
}

/**
 * Each request's TTFT alone on an idle H100 replica (same engine settings as the benchmark's) that already holds its
 * system prompt if an earlier request carried it — its best possible cache state, since a prompt's first use is a miss
 * anywhere. No scheduler can beat the p99 of these, so round robin's p99 over it bounds the ratio any profile can reach.
 */
export function ttftFloor(workload: readonly FloorItem[], modelId: string, kvBlocks: number): number[] {
  const stepTime = createStepTimeModel({ model: getModel(modelId), gpu: GPUS.h100, tensorParallel: 1, dtype: 'bf16' });
  const seenSystemPrompts = new Set<string>();
  return workload.map((item, index) => {
    const clock = new VirtualClock();
    const engine = new SimEngine({
      clock,
      stepTime,
      totalBlocks: kvBlocks,
      maxNumSeqs: 256,
      maxNumBatchedTokens: 8_192,
    });
    const firstToken = (messages: FloorItem['messages'], id: string): number => {
      const submittedAt = clock.now();
      let ttft = NaN;
      engine.submit(
        { id, promptTokens: chatPromptTokens(messages), outputTokens: 1 },
        {
          onToken: (tokenIndex, atMs) => void (tokenIndex === 0 && (ttft = atMs - submittedAt)),
          onFinish: () => undefined,
        },
      );
      clock.runAll(1_000_000);
      return ttft;
    };
    const system = item.kind === 'shared-prefix' ? item.messages[0]!.content : undefined;
    if (system !== undefined && seenSystemPrompts.has(system)) firstToken(item.messages.slice(0, 1), `warm-${index}`);
    if (system !== undefined) seenSystemPrompts.add(system);
    const ttft = firstToken(item.messages, `floor-${index}`);
    engine.shutdown();
    return ttft;
  });
}
