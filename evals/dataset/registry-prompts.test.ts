// Evals over registry prompts: `prompt: name@version` in a suite resolves from the router's prompt registry, its
// system messages go before each case, and the prompt file's eval_baseline gates the run — end to end with
// `eval run` against the embedded default router, whose per-version eval pass rate the run reports back.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChainFixture, type ChainFixture } from '../../router/testing/chain-fixture.ts';
import { evalRun } from '../commands/run.ts';
import { silentProgress } from '../runner/progress.ts';
import { openPromptStore, promptPrefix, resolvePromptReference } from './registry-prompts.ts';

let fixture: ChainFixture;

const prompt = (version: number, baseline: string): string =>
  [
    'name: gate-test',
    `version: ${version}`,
    'variables: [product]',
    'template:',
    '  - { role: system, content: "You answer questions about {{product}}." }',
    `eval_baseline: ${baseline}`,
  ].join('\n');

beforeAll(async () => {
  fixture = await startChainFixture();
  writeFileSync(
    join(fixture.promptsDir, 'gate-test.v1.yaml'),
    prompt(1, '{ dataset: suite/cases.jsonl, metric: token-length, score: 0.9 }'),
  );
  writeFileSync(
    join(fixture.promptsDir, 'gate-test.v2.yaml'),
    prompt(2, '{ dataset: suite/cases.jsonl, metric: has-marker, score: 0.9 }'),
  );
  mkdirSync(join(fixture.workspace, 'suite'));
  const cases = [1, 2, 3].map((index) =>
    JSON.stringify({
      id: `q${index}`,
      input: { messages: [{ role: 'user', content: `Question ${index}?` }] },
      assertions: [
        { type: 'token-length', max: 5000 },
        { type: 'contains', id: 'has-marker', value: 'zz-never-said-zz', gate: false },
      ],
    }),
  );
  writeFileSync(join(fixture.workspace, 'suite', 'cases.jsonl'), `${cases.join('\n')}\n`);
  writeFileSync(
    join(fixture.workspace, 'suite', 'suite.yaml'),
    'name: gate\ncases: cases.jsonl\nprompt: gate-test@1\ndefaults:\n  variables: { product: Switchyard }\n',
  );
}, 120_000);

afterAll(async () => {
  await fixture?.close();
});

async function run(extra: Record<string, unknown>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await evalRun(
    {
      suite: join(fixture.workspace, 'suite', 'suite.yaml'),
      target: 'small',
      routerUrl: `${fixture.router.url}/v1`,
      embedder: 'hashed',
      cache: false,
      out: join(fixture.workspace, 'out'),
      promptDir: [fixture.promptsDir],
      rolloutFile: fixture.rolloutFile,
      ...extra,
    },
    { stdout: (text) => out.push(text), stderr: (text) => err.push(text), progress: silentProgress },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('registry prompts in evals', () => {
  it('resolves name@version and renders the system prompt with the variables', () => {
    const store = openPromptStore({ dirs: [fixture.promptsDir], rolloutFile: fixture.rolloutFile });
    const v1 = resolvePromptReference(store, 'gate-test@1');
    expect(v1.eval_baseline).toEqual({ dataset: 'suite/cases.jsonl', metric: 'token-length', score: 0.9 });
    expect(resolvePromptReference(store, 'gate-test').version).toBe('2');
    expect(resolvePromptReference(store, 'chain-verify@1').name).toBe('chain-verify');
    expect(promptPrefix(v1, { product: 'Switchyard' }, 'q1')).toEqual([
      { role: 'system', content: 'You answer questions about Switchyard.' },
    ]);
    expect(() => promptPrefix(v1, {}, 'q1')).toThrow(/\{\{product\}\} has no value/);
    expect(() => resolvePromptReference(store, 'gate-test@9')).toThrow(/gate-test/);
    expect(() => resolvePromptReference(store, 'bad name')).toThrow(/name@version/);
  });

  it("passes the version's eval_baseline and reports the pass rate to the router", { timeout: 120_000 }, async () => {
    const { code, out } = await run({ pushTo: fixture.router.url });
    expect(out).toMatch(/prompt: gate-test@1/);
    expect(out).toMatch(/gate-test@1 eval_baseline token-length/);
    expect(code).toBe(0);
    const metrics = await (await fetch(`${fixture.router.url}/metrics`)).text();
    expect(metrics).toMatch(
      /switchyard_prompt_version_eval_pass_rate\{prompt="gate-test",version="1",source="eval"\} 1/,
    );
    expect(metrics).toMatch(
      /switchyard_prompt_version_eval_pass_rate\{prompt="gate-test",version="1",source="baseline"\} 0\.9/,
    );
  });

  it(
    'fails the gate (exit 1) when the run is under the eval_baseline of the version',
    { timeout: 120_000 },
    async () => {
      const { code, out } = await run({ prompt: 'gate-test@2' });
      expect(out).toMatch(/prompt: gate-test@2/);
      expect(out).toMatch(/gate-test@2 eval_baseline has-marker/);
      expect(code).toBe(1);
    },
  );
});
