// The request log (`requestLog:`, JSONL read by feedback and `eval add-case`) records the answer text of plain answers
// whether they were streamed or not, in the same field and after the same output guardrails (what the client saw), and
// records no answer text when `requestLog.bodies` is off. The client is the official openai SDK; the upstream is the
// shared fake (vLLM needs a GPU).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../core/testing/fake-upstream.ts';
import type { LoggedRequest } from '../chain/request-log.ts';
import { startTestRouter, type TestRouter } from '../testing/harness.ts';

const scratch = mkdtempSync(join(tmpdir(), 'switchyard-request-log-'));
// A card number split over chunks: the default output guardrails redact it, in the stream and in the JSON answer.
const CHUNKS = ['Your card is 4111 11', '11 1111 ', '1111, keep it safe.'];
const SEEN = 'Your card is [REDACTED:credit_card], keep it safe.';
let upstream: FakeUpstream;

async function startRouter(name: string, bodies: boolean): Promise<{ harness: TestRouter; log: string }> {
  const log = join(scratch, `${name}.jsonl`);
  const harness = await startTestRouter({
    pools: [
      { name: 'gpu', kind: 'vllm', model: 'llama-3.1-8b', gpu: 'a10g', backends: [{ id: 'gpu-0', url: upstream.url }] },
    ],
    models: [{ name: 'llama-3.1-8b', route: ['gpu'] }],
    requestLog: { path: log, bodies },
    governance: { enabled: true, keys: { enabled: false }, logging: { level: 'silent' } },
  });
  return { harness, log };
}

/** The log entry of one request id; the log is written just off the request path, so it is polled briefly. */
async function logged(file: string, id: string): Promise<LoggedRequest> {
  for (let attempt = 0; attempt < 100; attempt++) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // not written yet
    }
    const entry = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LoggedRequest)
      .find((candidate) => candidate.id === id);
    if (entry) return entry;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`request ${id} is not in ${file}`);
}

async function ask(
  client: OpenAI,
  stream: boolean,
): Promise<{ requestId: string; completionId: string; text: string }> {
  const messages = [{ role: 'user' as const, content: 'my card?' }];
  if (!stream) {
    const { data, response } = await client.chat.completions.create({ model: 'llama-3.1-8b', messages }).withResponse();
    return {
      requestId: response.headers.get('x-request-id')!,
      completionId: data.id,
      text: data.choices[0]!.message.content!,
    };
  }
  const { data, response } = await client.chat.completions
    .create({ model: 'llama-3.1-8b', messages, stream: true })
    .withResponse();
  let text = '';
  let completionId = '';
  for await (const chunk of data) {
    completionId ||= chunk.id;
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  return { requestId: response.headers.get('x-request-id')!, completionId, text };
}

beforeAll(async () => {
  upstream = await startFakeUpstream({ chunks: CHUNKS });
});
afterAll(async () => {
  await upstream?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('answer text in the request log', () => {
  let router: { harness: TestRouter; log: string };
  beforeAll(async () => {
    router = await startRouter('bodies', true);
  });
  afterAll(async () => router?.harness.close());

  it('a non-streamed answer: the text the client saw, under the completion id', async () => {
    const answer = await ask(router.harness.client, false);
    expect(answer.text).toBe(SEEN);
    const entry = await logged(router.log, answer.requestId);
    expect(entry.response).toEqual({ choices: [{ message: { content: SEEN } }] });
    expect(entry.response_id).toBe(answer.completionId);
  });

  it('a streamed answer: the same field, the same redacted text, the completion id', async () => {
    const answer = await ask(router.harness.client, true);
    expect(answer.text).toBe(SEEN);
    const entry = await logged(router.log, answer.requestId);
    expect(entry.response).toEqual({ choices: [{ message: { content: SEEN } }] });
    expect(entry.response_id).toBe(answer.completionId);
    expect(entry.request).toMatchObject({ stream: true });
  });
});

describe('requestLog.bodies: false', () => {
  let router: { harness: TestRouter; log: string };
  beforeAll(async () => {
    router = await startRouter('no-bodies', false);
  });
  afterAll(async () => router?.harness.close());

  it('logs neither the request nor the answer text, streamed or not', async () => {
    for (const stream of [false, true]) {
      const answer = await ask(router.harness.client, stream);
      expect(answer.text).toBe(SEEN);
      const entry = await logged(router.log, answer.requestId);
      expect(entry).not.toHaveProperty('response');
      expect(entry).not.toHaveProperty('request');
      expect(entry.model).toBe('llama-3.1-8b');
    }
  });
});
