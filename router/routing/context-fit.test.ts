// Prompts longer than a pool's context through HTTP (real router, simulator replicas with vLLM's --max-model-len, the
// openai SDK): a route of two steps — a short-context pool, then a long-context one — sends a prompt to the step
// whose context holds it and says so in the route reason; a prompt no step can hold gets OpenAI's 400.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_SCHEDULING, startReplicas, startTestRouter, vllmPool, type TestRouter } from '../testing/harness.ts';

let harness: TestRouter;

beforeAll(async () => {
  const [short, long] = await startReplicas([
    { model: 'llama-3.1-8b', speed: 200, maxModelLen: 2048 },
    { model: 'llama-3.1-8b', speed: 200, maxModelLen: 32_768 },
  ]);
  harness = await startTestRouter(
    {
      pools: [
        // The short pool's configured window (8192) overstates its replicas' (2048): the router then learns it from
        // the replica's context_length_exceeded and moves on.
        vllmPool('short', [short!], { contextTokens: 8192 }),
        vllmPool('long', [long!], { contextTokens: 32_768 }),
      ],
      models: [{ name: 'llama-3.1-8b', route: ['short', 'long'] }],
      scheduling: FAST_SCHEDULING,
      retries: { maxAttempts: 1 },
    },
    {},
    [short!, long!],
  );
  // Both pools scraped at least once.
  const usable = async (): Promise<string[]> =>
    ((await (await fetch(`${harness.router.url}/ready`)).json()) as { models: Record<string, { backends: string[] }> })
      .models['llama-3.1-8b']?.backends ?? [];
  const deadline = Date.now() + 30_000;
  while ((await usable()).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}, 60_000);

afterAll(async () => {
  await harness?.close();
});

/** A prompt of about `words` simulator tokens (the router estimates 1.5 tokens per word: 6 characters / 4). */
async function ask(words: number): Promise<{ backend: string | null; route: string | null }> {
  const { response } = await harness.client.chat.completions
    .create({ model: 'llama-3.1-8b', max_tokens: 8, messages: [{ role: 'user', content: 'hello '.repeat(words) }] })
    .withResponse();
  return { backend: response.headers.get('x-switchyard-backend'), route: response.headers.get('x-switchyard-route') };
}

describe('prompts longer than a step’s context go to a step whose context fits', () => {
  it('a short prompt stays on the first step', async () => {
    expect(await ask(100)).toEqual({ backend: 'short-0', route: 'primary' });
  });

  it('a prompt over the configured window skips the short step before sending (route reason "context")', async () => {
    // ~6 700 simulator tokens, estimated ~10 000 by the router: more than short's 8 192, less than long's 32 768.
    expect(await ask(6_700)).toEqual({ backend: 'long-0', route: 'primary,context' });
  });

  it('a prompt the short replicas reject as too long moves on to the long step', async () => {
    // ~2 700 tokens: fits the configured 8 192 by the estimate, not the replica's real 2 048.
    expect(await ask(2_700)).toEqual({ backend: 'long-0', route: 'primary,context' });
  });

  it('a prompt no step can hold gets OpenAI’s 400 context_length_exceeded', async () => {
    const error = await ask(34_000).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'context_length_exceeded', type: 'invalid_request_error' });
    expect(String((error as Error).message)).not.toMatch(/short-0|long-0|127\.0\.0\.1/);
  });
});
