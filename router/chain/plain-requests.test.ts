// Requests that do not chain, on the embedded default: each one the router answers is in the request log under its
// x-request-id, so POST /v1/feedback accepts it (counted per prompt version and model) and `eval add-case` reads it;
// a client `prompt` reference without a version follows the rollout (active pointer, sticky A/B split), a pinned
// version stays pinned, and the chosen version comes back in x-switchyard-prompt. The models: chat with the listed
// embedding model, and embeddings from a chat model, are 400s that say which endpoint each model is for.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalAddCase } from '../../evals/commands/other.ts';
import { startChainFixture, type ChainFixture } from '../testing/chain-fixture.ts';

let fixture: ChainFixture;

const greeting = (version: number, text: string): string =>
  `name: greeting\nversion: ${version}\nvariables: [who]\ntemplate:\n  - role: system\n    content: "${text} {{who}}"\n`;

beforeAll(async () => {
  fixture = await startChainFixture((config) => {
    const dir = config.prompts?.dirs?.[0] ?? '';
    writeFileSync(join(dir, 'greeting.v1.yaml'), greeting(1, 'Say hello to'));
    writeFileSync(join(dir, 'greeting.v2.yaml'), greeting(2, 'Greet warmly'));
  });
}, 120_000);

afterAll(async () => {
  await fixture?.close();
});

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const response = await fetch(`${fixture.router.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Record<string, unknown>,
  };
}

async function promptVersion(prompt: Record<string, unknown>, user: string): Promise<string> {
  const answer = await post('/v1/chat/completions', {
    model: 'llama-3.1-8b',
    user,
    max_tokens: 4,
    prompt: { variables: { who: user }, ...prompt },
    messages: [{ role: 'user', content: 'hi' }],
  });
  expect(answer.status, JSON.stringify(answer.json)).toBe(200);
  const header = answer.headers.get('x-switchyard-prompt') ?? '';
  expect(header).toMatch(/^greeting@\d+;hash=/);
  return header.split(';')[0]!.split('@')[1]!;
}

describe('plain (not chained) requests in the request log', () => {
  it(
    'feedback on a plain chat request is accepted by x-request-id and by completion id, and counted per model',
    { timeout: 120_000 },
    async () => {
      const { data, response } = await fixture.client.chat.completions
        .create({ model: 'llama-3.1-8b', max_tokens: 8, messages: [{ role: 'user', content: 'Say something short.' }] })
        .withResponse();
      const requestId = response.headers.get('x-request-id')!;
      expect(requestId).toBeTruthy();

      const byRequestId = await post('/v1/feedback', { request_id: requestId, score: 1, tags: ['helpful'] });
      expect(byRequestId.status, JSON.stringify(byRequestId.json)).toBe(200);
      expect(byRequestId.json).toMatchObject({
        object: 'feedback',
        request_id: requestId,
        score: 1,
        model: 'llama-3.1-8b',
      });
      const byCompletionId = await post('/v1/feedback', { request_id: data.id, score: -1 });
      expect(byCompletionId.status).toBe(200);

      const unknown = await post('/v1/feedback', { request_id: 'no-such-request', score: 1 });
      expect(unknown.status).toBe(404);

      const metrics = await (await fetch(`${fixture.router.url}/metrics`)).text();
      expect(metrics).toMatch(
        /switchyard_prompt_version_feedback_total\{[^}]*model="llama-3\.1-8b"[^}]*rating="positive"[^}]*\} 1|switchyard_prompt_version_feedback_total\{[^}]*rating="positive"[^}]*model="llama-3\.1-8b"[^}]*\} 1/,
      );

      // `eval add-case --from-request` reads the same log (written just off the request path).
      const suite = join(fixture.workspace, 'cases.jsonl');
      let code = 2;
      for (let attempt = 0; attempt < 50 && code !== 0; attempt++) {
        code = await evalAddCase(
          { fromRequest: requestId, log: fixture.requestLog, suite, referenceFromResponse: true },
          { stdout: () => undefined, stderr: () => undefined },
        );
        if (code !== 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(code).toBe(0);
      const added = JSON.parse(readFileSync(suite, 'utf8').trim().split('\n').at(-1)!) as {
        input: { messages: Array<{ content: string }> };
      };
      expect(added.input.messages.at(-1)?.content).toBe('Say something short.');
    },
  );

  it(
    'a prompt reference without a version follows the rollout, sticky per user; a pinned version stays pinned',
    { timeout: 120_000 },
    async () => {
      expect(await promptVersion({ name: 'greeting' }, 'ann')).toBe('2');
      const activated = await post('/admin/prompts/greeting/activate', { version: '1' });
      expect(activated.status).toBe(200);
      expect(await promptVersion({ name: 'greeting' }, 'ann')).toBe('1');
      expect(await promptVersion({ name: 'greeting', version: '2' }, 'ann')).toBe('2');

      expect((await post('/admin/prompts/greeting/split', { weights: { '1': 50, '2': 50 } })).status).toBe(200);
      const seen = new Map<string, string>();
      for (let user = 0; user < 12; user++)
        seen.set(`user-${user}`, await promptVersion({ name: 'greeting' }, `user-${user}`));
      expect(new Set(seen.values())).toEqual(new Set(['1', '2']));
      for (const [user, version] of [...seen].slice(0, 4))
        expect(await promptVersion({ name: 'greeting' }, user)).toBe(version);
      expect(
        await promptVersion({ name: 'greeting', version: '1' }, [...seen].find(([, version]) => version === '2')![0]),
      ).toBe('1');

      const rolledBack = await post('/admin/prompts/greeting/rollback', {});
      expect(rolledBack.status).toBe(200);
    },
  );
});

describe('model kinds', () => {
  it(
    'chat with the listed embedding model, and embeddings from a chat model: 400s naming the right endpoint',
    { timeout: 120_000 },
    async () => {
      const models = await fixture.client.models.list();
      const embedding = models.data.find((model) => model.owned_by === 'switchyard-local')?.id;
      expect(embedding).toBeDefined();

      const chat = await fixture.client.chat.completions
        .create({ model: embedding!, messages: [{ role: 'user', content: 'hi' }] })
        .catch((caught: unknown) => caught);
      expect(chat).toBeInstanceOf(OpenAI.BadRequestError);
      const chatError = chat as InstanceType<typeof OpenAI.BadRequestError>;
      expect(chatError.code).toBe('model_not_supported');
      expect(chatError.param).toBe('model');
      expect(chatError.type).toBe('invalid_request_error');
      expect(chatError.message).toContain(`\`${embedding!}\` is an embedding model`);
      expect(chatError.message).toContain('/v1/embeddings');

      const vectors = await fixture.client.embeddings.create({ model: embedding!, input: 'hello' });
      expect(vectors.data[0]?.embedding.length).toBeGreaterThan(0);

      const embeddings = await fixture.client.embeddings
        .create({ model: 'llama-3.1-8b', input: 'hello' })
        .catch((caught: unknown) => caught);
      expect(embeddings).toBeInstanceOf(OpenAI.BadRequestError);
      const embeddingsError = embeddings as InstanceType<typeof OpenAI.BadRequestError>;
      expect(embeddingsError.code).toBe('model_not_supported');
      expect(embeddingsError.message).toContain('`llama-3.1-8b` is a chat model');
      expect(embeddingsError.message).toContain('/v1/chat/completions');
      expect(embeddingsError.message).toContain(`\`${embedding!}\``);
    },
  );
});
