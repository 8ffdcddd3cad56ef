// The router in front of real llama.cpp llama-server replicas (tiny random-weight model, Llama 3 tokenizer), called
// with the official openai SDK: streaming with [DONE] and usage, a client abort freeing the engine's slot, scraped
// queue/KV signals steering the scheduler, a context overflow as OpenAI's 400, an engine error event reaching the
// client as that error, and a replica killed mid-stream (continued or ended cleanly, as configured).
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  llamaServerForTests,
  startLlamaCppReplicas,
  type LlamaCppReplicas,
} from '../../deploy/engines/llamacpp/testing.ts';
import type { RouterConfigInput } from '../config/schema.ts';
import { HEADER_BACKEND } from '../routing/response-headers.ts';
import { startTestRouter, type TestRouter } from '../testing/harness.ts';

const install = llamaServerForTests();
const MODEL = 'tiny-llama';
/** llama-server's own sampling field, passed through by the router unchanged: exactly max_tokens tokens. */
const ENGINE_FIELDS = { ignore_eos: true };

function config(urls: readonly string[], extra: Partial<RouterConfigInput> = {}): RouterConfigInput {
  return {
    pools: [{ name: 'llama', kind: 'llamacpp', backends: urls.map((url, index) => ({ id: `llama-${index}`, url })) }],
    models: [{ name: MODEL, route: ['llama'] }],
    // The example config's profile for llama.cpp pools (the default's predicted-TTFT scorer needs a vLLM step-time
    // model): scraped queue and KV use plus router-side in-flight counts. A loaded 2-core machine delays scrapes;
    // stale-after stays well above that so only real trouble fails closed.
    scheduling: {
      scrapeIntervalMs: 50,
      staleAfterMs: 3_000,
      scorers: [
        { type: 'queue', weight: 2 },
        { type: 'kv-cache', weight: 1 },
        { type: 'in-flight', weight: 1 },
      ],
    },
    ...extra,
  };
}

interface Slot {
  id: number;
  is_processing: boolean;
  next_token?: { n_decoded: number }[];
}

async function slots(url: string): Promise<Slot[]> {
  return (await (await fetch(`${url}/slots`)).json()) as Slot[];
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

describe.skipIf(!install)('router → llama-server', () => {
  let replicas: LlamaCppReplicas;
  let test: TestRouter;

  beforeAll(async () => {
    replicas = await startLlamaCppReplicas(2, { parallel: 2, ctxSize: 1024 });
    test = await startTestRouter(config(replicas.urls));
  }, 60_000);
  afterAll(async () => {
    await test?.close();
    await replicas?.close();
  });

  it('answers a chat completion from the engine, with usage', async () => {
    const completion = await test.client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 8,
      ...ENGINE_FIELDS,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.usage?.completion_tokens).toBe(8);
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(typeof completion.choices[0]?.message.content).toBe('string');
  });

  it('streams to [DONE] with usage when asked', async () => {
    const response = await fetch(`${test.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: 'Count to ten' }],
        max_tokens: 12,
        ignore_eos: true,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    const events = text.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events
      .slice(0, -1)
      .map((event) => JSON.parse(event.slice('data: '.length)) as Record<string, unknown>);
    expect(chunks.every((chunk) => chunk['object'] === 'chat.completion.chunk')).toBe(true);
    const usage = chunks.at(-1)?.['usage'] as { completion_tokens: number } | undefined;
    expect(usage?.completion_tokens).toBe(12);
    // Without include_usage the client gets no usage chunk (the router asked for it upstream and strips it).
    const plain = await fetch(`${test.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 4,
        ignore_eos: true,
        stream: true,
      }),
    });
    const plainText = await plain.text();
    expect(plainText.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(plainText).not.toContain('"usage"');
  });

  it('frees the engine slot when the client aborts a stream', async () => {
    const controller = new AbortController();
    const stream = await test.client.chat.completions.create(
      {
        model: MODEL,
        messages: [{ role: 'user', content: 'Write forever' }],
        max_tokens: 4_000,
        ...ENGINE_FIELDS,
        stream: true,
      },
      { signal: controller.signal },
    );
    let received = 0;
    for await (const _chunk of stream) {
      // Leaving the loop is how an SDK user stops a stream: the SDK closes the connection.
      if (++received === 3) break;
    }
    controller.abort();
    // Both replicas end up with every slot idle, long before 4,000 tokens could have been decoded.
    const freed = await until(async () => {
      const all = (await Promise.all(replicas.urls.map(slots))).flat();
      return all.every((slot) => !slot.is_processing);
    }, 5_000);
    expect(freed).toBe(true);
    const decoded = (await Promise.all(replicas.urls.map(slots)))
      .flat()
      .map((slot) => slot.next_token?.[0]?.n_decoded ?? 0);
    expect(Math.max(...decoded)).toBeLessThan(4_000);
  });

  it('answers a prompt longer than the engine context with OpenAI’s 400, not a 500', async () => {
    const error = await test.client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'lighthouse '.repeat(1_000) }], max_tokens: 4 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const body = (error as InstanceType<typeof OpenAI.BadRequestError>).error as { type?: string; message?: string };
    expect(body.type).toBe('invalid_request_error');
    expect(body.message).toMatch(/context/i);
    // Streamed too: the 400 comes before any byte of the stream.
    const streamed = await fetch(`${test.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: 'lighthouse '.repeat(1_000) }],
        max_tokens: 4,
        stream: true,
      }),
    });
    expect(streamed.status).toBe(400);
  });

  it('exports the scraped queue and KV values and steers requests to the less-loaded replica', async () => {
    // Load replica 0 behind the router's back: both of its slots busy with long generations, two more deferred.
    const controller = new AbortController();
    const load = Array.from({ length: 4 }, () =>
      fetch(`${replicas.urls[0]}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        signal: controller.signal,
        body: JSON.stringify({
          model: MODEL,
          messages: [{ role: 'user', content: 'lighthouse keeper '.repeat(40) }],
          max_tokens: 3_000,
          ignore_eos: true,
          stream: true,
        }),
      })
        .then(async (response) => {
          // Keep reading: a closed connection would make llama-server cancel the generation.
          for await (const _piece of response.body!) void _piece;
        })
        .catch(() => undefined),
    );
    try {
      const loaded = await until(async () => {
        const text = await (await fetch(`${test.router.url}/metrics`)).text();
        return /switchyard_backend_queue_requests\{backend="llama-0",pool="llama"\} [1-9]/.test(text);
      }, 20_000);
      expect(
        loaded,
        (await (await fetch(`${test.router.url}/metrics`)).text())
          .split('\n')
          .filter((line) => line.startsWith('switchyard_backend'))
          .join('\n'),
      ).toBe(true);
      const metrics = await (await fetch(`${test.router.url}/metrics`)).text();
      const kv = Number(
        /switchyard_backend_kv_cache_usage_ratio\{backend="llama-0",pool="llama"\} (\S+)/.exec(metrics)?.[1],
      );
      expect(kv).toBeGreaterThan(0);
      expect(metrics).toMatch(/switchyard_backend_running_requests\{backend="llama-0",pool="llama"\} 2/);
      const picked: string[] = [];
      for (let index = 0; index < 6; index++) {
        const { response } = await test.client.chat.completions
          .create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 })
          .withResponse();
        picked.push(response.headers.get(HEADER_BACKEND) ?? '');
      }
      expect(picked).toEqual(Array(6).fill('llama-1'));
    } finally {
      controller.abort();
      await Promise.all(load);
    }
  }, 60_000);
});
