import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from './errors.ts';
import { createRng } from './rng.ts';
import { countTokens } from './tokens.ts';
import { createWorkload, jsonlPrompts, parseLength, sampleLength, shareGptPrompts } from './workloads.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('length distributions', () => {
  it('parses the flag syntax', () => {
    expect(parseLength('512', '--input-len')).toEqual({ kind: 'fixed', value: 512 });
    expect(parseLength('uniform:10:20', 'x')).toEqual({ kind: 'uniform', min: 10, max: 20 });
    expect(parseLength('normal:100:10:50:150', 'x')).toEqual({ kind: 'normal', mean: 100, std: 10, min: 50, max: 150 });
    expect(parseLength('hist:128=0.5,512=0.5', 'x')).toEqual({
      kind: 'histogram',
      bins: [
        { value: 128, weight: 0.5 },
        { value: 512, weight: 0.5 },
      ],
    });
  });

  it('rejects bad lengths with the flag name', () => {
    for (const bad of ['-5', '0', '1.5', 'uniform:20:10', 'normal:x:1', 'hist:10=0', 'pareto:1:2']) {
      expect(() => parseLength(bad, '--output-len')).toThrow(InvalidInputError);
      expect(() => parseLength(bad, '--output-len')).toThrow(/--output-len/);
    }
  });

  it('samples within bounds and with the right proportions', () => {
    const rng = createRng(5);
    const uniform = Array.from({ length: 2000 }, () => sampleLength({ kind: 'uniform', min: 10, max: 20 }, rng));
    expect(Math.min(...uniform)).toBe(10);
    expect(Math.max(...uniform)).toBe(20);
    const normal = Array.from({ length: 2000 }, () =>
      sampleLength({ kind: 'normal', mean: 100, std: 10, min: 90, max: 130 }, rng),
    );
    expect(Math.min(...normal)).toBe(90);
    expect(Math.max(...normal)).toBeLessThanOrEqual(130);
    const histogram = Array.from({ length: 4000 }, () =>
      sampleLength(
        {
          kind: 'histogram',
          bins: [
            { value: 1, weight: 3 },
            { value: 2, weight: 1 },
          ],
        },
        rng,
      ),
    );
    const share = histogram.filter((value) => value === 1).length / histogram.length;
    expect(share).toBeGreaterThan(0.72);
    expect(share).toBeLessThan(0.78);
  });
});

describe('workloads', () => {
  it('synthetic prompts have exactly the sampled number of tokens and the seed reproduces them', async () => {
    const spec = {
      kind: 'synthetic',
      input: { kind: 'uniform', min: 50, max: 300 },
      output: { kind: 'fixed', value: 64 },
    } as const;
    const first = await createWorkload(spec, createRng(11));
    const again = await createWorkload(spec, createRng(11));
    const other = await createWorkload(spec, createRng(12));
    for (let index = 0; index < 5; index += 1) {
      const prompt = first.next();
      expect(countTokens(prompt.prompt)).toBe(prompt.promptTokens);
      expect(prompt.maxTokens).toBe(64);
      expect(again.next()).toEqual(prompt);
      expect(other.next().prompt).not.toBe(prompt.prompt);
    }
  });

  it('ShareGPT: first turn is the prompt, the answer length is the output length, unusable pairs are dropped', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(fixture('sharegpt-sample.json'), 'utf8');
    const prompts = shareGptPrompts(text, 'sample', undefined, createRng(1));
    // c3 is too short (< 4 prompt tokens), c4 has no answer.
    expect(prompts).toHaveLength(3);
    const paris = prompts.find((prompt) => prompt.prompt.startsWith('What is the capital'));
    expect(paris?.maxTokens).toBe(
      countTokens(
        "Paris is the capital of France. It sits on the Seine and is known for its museums, cafes and the Eiffel Tower, which was built for the 1889 World's Fair.",
      ),
    );
    const fixedOutput = shareGptPrompts(text, 'sample', { kind: 'fixed', value: 7 }, createRng(1));
    expect(fixedOutput.every((prompt) => prompt.maxTokens === 7)).toBe(true);
    expect(() => shareGptPrompts('{"not": "a list"}', 'bad.json', undefined, createRng(1))).toThrow(
      /not a ShareGPT file/,
    );
  });

  it('JSONL: strings, {prompt} and {text} lines; blank lines skipped; bad lines named', async () => {
    const { readFile } = await import('node:fs/promises');
    const prompts = jsonlPrompts(
      await readFile(fixture('prompts.jsonl'), 'utf8'),
      'p.jsonl',
      { kind: 'fixed', value: 9 },
      createRng(2),
    );
    expect(prompts.map((prompt) => prompt.prompt).sort()).toEqual(
      [
        'Summarize the plot of Hamlet in one paragraph.',
        'Translate good morning into Spanish.',
        'What is two plus two?',
      ].sort(),
    );
    expect(() =>
      jsonlPrompts('{"prompt": "ok"}\nnot json', 'p.jsonl', { kind: 'fixed', value: 1 }, createRng(2)),
    ).toThrow(/p\.jsonl:2/);
  });

  it('RAG prompts share a few long contexts and end with a question', async () => {
    const workload = await createWorkload(
      {
        kind: 'rag',
        contexts: 2,
        contextTokens: 300,
        questionTokens: { kind: 'fixed', value: 12 },
        output: { kind: 'fixed', value: 32 },
      },
      createRng(3),
    );
    const prompts = Array.from({ length: 12 }, () => workload.next());
    const contexts = new Set(prompts.map((prompt) => prompt.prompt.split('\n\n')[0]));
    expect(contexts.size).toBe(2);
    expect(prompts.every((prompt) => prompt.promptTokens > 300 && prompt.prompt.includes('Question:'))).toBe(true);
  });

  it('a missing dataset file is a clear input error', async () => {
    await expect(
      createWorkload(
        { kind: 'jsonl', path: '/nonexistent/p.jsonl', output: { kind: 'fixed', value: 1 } },
        createRng(1),
      ),
    ).rejects.toThrow(/cannot read JSONL file \/nonexistent\/p\.jsonl/);
  });
});
