// Failures on real llama-server replicas behind the router: a replica killed mid-stream (continued on the other
// replica, or ended with an error event + [DONE], as configured) and an error event the engine itself sends
// mid-stream, which must reach the client as that error — never as "no backend" while the engine is alive.
import { afterEach, describe, expect, it } from 'vitest';
import {
  llamaServerForTests,
  rawTinyModelFile,
  startLlamaCppReplicas,
  type LlamaCppReplicas,
} from '../../deploy/engines/llamacpp/testing.ts';
import type { RouterConfigInput } from '../config/schema.ts';
import { HEADER_BACKEND } from '../routing/response-headers.ts';
import { startTestRouter, type TestRouter } from '../testing/harness.ts';

const install = llamaServerForTests();
const MODEL = 'tiny-llama';

function config(urls: readonly string[], policy: 'continue' | 'error'): RouterConfigInput {
  return {
    pools: [{ name: 'llama', kind: 'llamacpp', backends: urls.map((url, index) => ({ id: `llama-${index}`, url })) }],
    models: [{ name: MODEL, route: ['llama'] }],
    scheduling: { scrapeIntervalMs: 50, staleAfterMs: 3_000 },
    streaming: { onMidStreamFailure: policy },
  };
}

interface StreamOutcome {
  events: string[];
  content: string;
  contentBeforeKill: string;
  backend: string;
}

/** Streams a long answer and runs `midway` after a few content chunks (with the serving backend's id). */
async function streamAndInterrupt(baseURL: string, midway: (backend: string) => void): Promise<StreamOutcome> {
  const response = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: MODEL,
      messages: [{ role: 'user', content: 'Tell a long story' }],
      max_tokens: 1_500,
      ignore_eos: true,
      stream: true,
    }),
  });
  expect(response.status).toBe(200);
  const backend = response.headers.get(HEADER_BACKEND) ?? '';
  const decoder = new TextDecoder();
  let buffer = '';
  let content = '';
  let contentBeforeKill = '';
  let chunks = 0;
  const events: string[] = [];
  for await (const piece of response.body!) {
    buffer += decoder.decode(piece as Uint8Array, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      events.push(event);
      if (event === 'data: [DONE]') continue;
      const parsed = JSON.parse(event.slice('data: '.length)) as { choices?: { delta?: { content?: string } }[] };
      content += parsed.choices?.[0]?.delta?.content ?? '';
      if (++chunks === 5) {
        contentBeforeKill = content;
        midway(backend);
      }
    }
  }
  return { events, content, contentBeforeKill, backend };
}

/**
 * A seed whose stream the engine itself ends with an error event: with random weights, llama-server's chat-output
 * parser rejects some generations ("does not match the expected peg-native format"). Which seeds do depends on the
 * CPU's float arithmetic, so it is found on the replica directly (bounded), then replayed through the router.
 */
async function findErroringSeed(
  replicaUrl: string,
): Promise<{ seed: number; contentBeforeError: string; message: string } | undefined> {
  for (let seed = 0; seed < 80; seed++) {
    const text = await (
      await fetch(`${replicaUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...ERROR_PROBE, seed }),
      })
    ).text();
    const events = text
      .split('\n\n')
      .filter((event) => event.startsWith('data: {'))
      .map((event) => JSON.parse(event.slice(6)) as Record<string, unknown>);
    const error = events.find((event) => event['error']) as { error: { message: string } } | undefined;
    const content = events
      .map((event) => (event['choices'] as { delta?: { content?: string } }[] | undefined)?.[0]?.delta?.content ?? '')
      .join('');
    if (error && content !== '') return { seed, contentBeforeError: content, message: error.error.message };
  }
  return undefined;
}

const ERROR_PROBE = { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 30, stream: true };

describe.skipIf(!install)('router → llama-server failures', () => {
  let replicas: LlamaCppReplicas | undefined;
  let test: TestRouter | undefined;
  afterEach(async () => {
    await test?.close();
    await replicas?.close();
    test = undefined;
    replicas = undefined;
  });

  it('passes an error event the engine sends mid-stream to the client as that error, never as "no backend"', async () => {
    // The raw tiny model: its random output sometimes fails llama-server's chat-output parser mid-stream.
    replicas = await startLlamaCppReplicas(2, { parallel: 2, ctxSize: 2048, model: rawTinyModelFile(install!) });
    test = await startTestRouter(config(replicas.urls, 'continue'));
    const probe = await findErroringSeed(replicas.urls[0]!);
    expect(probe, 'no seed in 0–79 made llama-server end a stream with an error event').toBeDefined();
    // Each replica gives the same answer to the same seed: whichever the router picks, the stream breaks alike.
    const response = await fetch(`${test.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...ERROR_PROBE, seed: probe!.seed }),
    });
    expect(response.status).toBe(200);
    const events = (await response.text()).split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const last = JSON.parse(events.at(-2)!.slice('data: '.length)) as {
      error?: { message: string; type: string; code: string };
    };
    expect(last.error?.message).toContain(probe!.message);
    expect(last.error?.message).not.toMatch(/no backend/i);
    expect(last.error?.code).toBe('engine_stream_error');
    const content = events
      .slice(0, -2)
      .map(
        (event) =>
          (JSON.parse(event.slice(6)) as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta
            ?.content ?? '',
      )
      .join('');
    expect(content).toBe(probe!.contentBeforeError);
    // Concurrent streams of varied seeds: each ends with [DONE], cleanly or with the engine's own error.
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const text = await (
          await fetch(`${test!.baseURL}/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ...ERROR_PROBE, seed: 1_000 + index }),
          })
        ).text();
        return text;
      }),
    );
    for (const text of outcomes) {
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
      expect(text).not.toMatch(/no backend/i);
    }
  }, 60_000);

  it('continues a stream on the other replica when its replica is killed mid-stream', async () => {
    replicas = await startLlamaCppReplicas(2, { parallel: 1, ctxSize: 4096 });
    test = await startTestRouter(config(replicas.urls, 'continue'));
    const outcome = await streamAndInterrupt(test.baseURL, (backend) =>
      replicas!.kill(Number(backend.split('-').pop())),
    );
    expect(outcome.events.at(-1)).toBe('data: [DONE]');
    expect(outcome.events.some((event) => event.includes('"error"'))).toBe(false);
    expect(outcome.content.startsWith(outcome.contentBeforeKill)).toBe(true);
    expect(outcome.content.length).toBeGreaterThan(outcome.contentBeforeKill.length);
  }, 60_000);

  it('ends the stream with an error event and [DONE] when configured to, after a replica is killed', async () => {
    replicas = await startLlamaCppReplicas(2, { parallel: 1, ctxSize: 4096 });
    test = await startTestRouter(config(replicas.urls, 'error'));
    const outcome = await streamAndInterrupt(test.baseURL, (backend) =>
      replicas!.kill(Number(backend.split('-').pop())),
    );
    expect(outcome.events.at(-1)).toBe('data: [DONE]');
    const error = JSON.parse(outcome.events.at(-2)!.slice('data: '.length)) as {
      error: { type: string; message: string };
    };
    expect(error.error.type).toBe('upstream_error');
    expect(error.error.message).not.toMatch(/no backend/i);
  }, 60_000);
});
