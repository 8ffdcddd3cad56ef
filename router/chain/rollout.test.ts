// Prompt rollout, rollback and feedback on the embedded default: the `switchyard` CLI edits the rollout file and the
// running router picks it up without a restart; A/B assignment is sticky per user; feedback through the openai SDK
// is stored in the request log and counted per prompt version and model; `eval add-case` reads that log.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scripted, startChainFixture, type ChainFixture } from '../testing/chain-fixture.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'switchyard.js');
const ANSWER = 'Port 443 refused the connection [1].';

let fixture: ChainFixture;

beforeAll(async () => {
  fixture = await startChainFixture();
}, 120_000);

afterAll(async () => {
  await fixture?.close();
});

async function cli(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, SWITCHYARD_PROMPT_ROLLOUT: fixture.rolloutFile },
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

async function admin<T = Record<string, unknown>>(path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const response = await fetch(`${fixture.router.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as T };
}

async function answerPrompt(user = 'someone'): Promise<{ version: string; id: string; requestId: string }> {
  const body = {
    model: 'llama-3.1-8b',
    user,
    messages: [{ role: 'user', content: 'What does ERR_CONN_REFUSED_443 mean?' }],
    ...scripted(ANSWER),
    chain: { index: 'docs', analyze: false, verify: false },
  } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
  const { data, response } = await fixture.client.chat.completions.create(body).withResponse();
  const answer = data as OpenAI.Chat.ChatCompletion & { chain: { prompts: { answer: string } } };
  return {
    version: answer.chain.prompts.answer.split('@')[1]!,
    id: answer.id,
    requestId: response.headers.get('x-request-id')!,
  };
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('prompt rollout', () => {
  it(
    'activate and rollback through the CLI take effect in the running router without a restart',
    { timeout: 120_000 },
    async () => {
      expect((await answerPrompt()).version).toBe('2');
      const activated = await cli('prompts', 'activate', 'chain-answer', '1');
      expect(activated.code).toBe(0);
      expect(activated.stdout).toMatch(/chain-answer: active 1/);
      await eventually(async () => (await answerPrompt()).version === '1');

      const listed = await cli('prompts', 'list');
      expect(listed.stdout).toMatch(/chain-answer: versions 1, 2; active 1 \(before: 2\)/);

      const rolledBack = await cli('prompts', 'rollback', 'chain-answer');
      expect(rolledBack.stdout).toMatch(/chain-answer: rolled back 1 → 2/);
      await eventually(async () => (await answerPrompt()).version === '2');

      const nothing = await cli('prompts', 'rollback', 'chain-answer');
      expect(nothing.code).toBe(2);
      expect(nothing.stderr).toMatch(/no earlier active version/);
      const unknown = await cli('prompts', 'activate', 'chain-answer', '9');
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/chain-answer/);
    },
  );

  it('a weighted split assigns each user to one version, always the same one', { timeout: 120_000 }, async () => {
    expect((await admin('/admin/prompts/chain-answer/split', { weights: { '1': 50, '2': 50 } })).status).toBe(200);
    const seen = new Map<string, string>();
    for (let user = 0; user < 12; user++) {
      const first = await answerPrompt(`user-${user}`);
      const again = await answerPrompt(`user-${user}`);
      expect(again.version).toBe(first.version);
      seen.set(`user-${user}`, first.version);
    }
    expect(new Set(seen.values())).toEqual(new Set(['1', '2']));
    const metrics = await (await fetch(`${fixture.router.url}/metrics`)).text();
    expect(metrics).toMatch(
      /switchyard_prompt_version_requests_total\{prompt="chain-answer",version="1",via="split"\} \d+/,
    );
    expect(metrics).toMatch(/switchyard_prompt_version_traffic_share\{prompt="chain-answer",version="1"\} 0\.5/);
    // Rollback drops the split: everyone is on the version active before it.
    await admin('/admin/prompts/chain-answer/activate', { version: '1' });
    const rolled = await cli('prompts', 'rollback', 'chain-answer', '--url', fixture.router.url);
    expect(rolled.stdout, rolled.stderr).toMatch(/rolled back 1 → 2/);
    for (const user of seen.keys()) expect((await answerPrompt(user)).version).toBe('2');
  });

  it('a new prompt file is picked up by the file watch; a broken one is rejected and the last good state serves', async () => {
    const v3 = readFileSync(join(import.meta.dirname, 'prompts', 'chain-answer.v2.yaml'), 'utf8').replace(
      'version: 2',
      'version: 3',
    );
    writeFileSync(join(fixture.promptsDir, 'chain-answer.v3.yaml'), v3);
    await eventually(async () => {
      const listed = await admin<{ data: Array<{ name: string; versions: string[] }> }>('/admin/prompts');
      return listed.json.data.some((entry) => entry.name === 'chain-answer' && entry.versions.includes('3'));
    });
    expect((await admin('/admin/prompts/chain-answer/activate', { version: 3 })).status).toBe(200);
    expect((await answerPrompt()).version).toBe('3');

    writeFileSync(join(fixture.promptsDir, 'broken.yaml'), 'name: broken\nversion: 1\ntemplate: []\n');
    const rejected = await admin<{ error: { message: string; code: string } }>('/admin/prompts/reload', {});
    expect(rejected.status).toBe(400);
    expect(rejected.json.error.code).toBe('prompt_reload_rejected');
    expect(rejected.json.error.message).toMatch(/broken\.yaml.*template/);
    expect((await answerPrompt()).version).toBe('3');
  });
});

describe('feedback', () => {
  it('is stored with the request log and counted per prompt version and model', { timeout: 60_000 }, async () => {
    const { id, version, requestId } = await answerPrompt('feedback-user');
    const stored = await fixture.client.post<{ id: string; prompts: Record<string, string>; model: string }>(
      '/feedback',
      {
        body: { request_id: id, score: 1, comment: 'clear answer', tags: ['helpful'] },
      },
    );
    expect(stored.id).toMatch(/^fb_/);
    expect(stored.model).toBe('llama-3.1-8b');
    expect(stored.prompts['answer']).toBe(`chain-answer@${version}`);
    // Either id works: the completion's own and the router's x-request-id.
    await fixture.client.post('/feedback', { body: { request_id: requestId, score: -1 } });
    const lines = readFileSync(fixture.requestLog, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(
      lines
        .filter((line) => line['type'] === 'feedback')
        .slice(-2)
        .map((line) => line['score']),
    ).toEqual([1, -1]);
    expect(lines.find((line) => line['type'] === 'request' && line['id'] === requestId)).toMatchObject({
      model: 'llama-3.1-8b',
      response: { choices: [{ message: { content: ANSWER } }] },
    });
    const metrics = await (await fetch(`${fixture.router.url}/metrics`)).text();
    const label = `prompt="chain-answer",version="${version}",model="llama-3.1-8b"`;
    expect(metrics).toMatch(
      new RegExp(`switchyard_prompt_version_feedback_total\\{${label},rating="positive"\\} [1-9]`),
    );
    expect(metrics).toMatch(
      new RegExp(`switchyard_prompt_version_feedback_total\\{${label},rating="negative"\\} [1-9]`),
    );

    const cliFeedback = await cli('feedback', id, '0.5', '--tag', 'cli', '--url', fixture.router.url);
    expect(cliFeedback.code, cliFeedback.stderr).toBe(0);
  });

  it('unknown request ids are 404, bad scores 400', async () => {
    const missing = await fixture.client
      .post('/feedback', { body: { request_id: 'nope', score: 1 } })
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('request_not_found');
    const bad = await fixture.client
      .post('/feedback', { body: { request_id: 'nope', score: 7 } })
      .catch((error: unknown) => error);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('score');
  });

  it('`eval add-case --from-request` turns a logged request into an eval case', { timeout: 60_000 }, async () => {
    const { requestId: id } = await answerPrompt('eval-user');
    const suite = join(fixture.workspace, 'cases.jsonl');
    const added = await cli(
      'eval',
      'add-case',
      '--from-request',
      id,
      '--suite',
      suite,
      '--log',
      fixture.requestLog,
      '--tag',
      'bug-1',
    );
    expect(added.code, added.stderr).toBe(0);
    const evalCase = JSON.parse(readFileSync(suite, 'utf8').trim()) as Record<string, unknown>;
    expect(evalCase).toMatchObject({
      id: `req-${id}`,
      input: { messages: [{ role: 'user', content: 'What does ERR_CONN_REFUSED_443 mean?' }] },
      tags: ['from-production', 'bug-1'],
      metadata: { requestId: id, loggedModel: 'llama-3.1-8b', loggedOutput: ANSWER },
    });
  });
});
