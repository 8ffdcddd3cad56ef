import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { classifyComplexity, extractFeatures, tierForScore } from './classify.ts';
import type { ComplexityRequest } from './classify.ts';
import { calibrate, CalibrationInputError, parsePromptsJsonl, parseShares, thresholdsForShares } from './calibrate.ts';
import { TierConfig } from './config.ts';
import { registerTierCommands } from './cli.ts';

const user = (content: string, extra: Partial<ComplexityRequest> = {}): ComplexityRequest => ({
  messages: [{ role: 'user', content }],
  ...extra,
});

const EASY = [
  'hi',
  'thanks!',
  'What is the capital of France?',
  'Translate "good night" to German.',
  'Define entropy.',
];
const MEDIUM = [
  'Write a Python function that returns the n-th Fibonacci number iteratively.',
  'Why does my build fail? ```\nerror TS2307: Cannot find module "./x"\n```',
  'Summarize the plot of Hamlet in five bullet points.',
];
const HARD = [
  'Prove that the square root of 2 is irrational. Give a rigorous proof step by step and justify each step.',
  'Design a distributed, multi-region rate limiter. Compare token bucket and sliding window, analyze the trade-offs ' +
    'in consistency and latency, explain why clock skew matters, and list edge cases.\n1. Requirements\n2. Architecture\n3. Failure modes',
  'Analyze the time complexity of this algorithm and optimize it:\n```python\ndef f(xs):\n    for i in range(len(xs)):\n' +
    '        for j in range(len(xs)):\n            if xs[i] + xs[j] == 0:\n                return True\n    return False\n```\n' +
    'Explain why your version is correct, and what the edge cases are.',
];

describe('classifyComplexity', () => {
  it('orders easy < medium < hard prompts', () => {
    const mean = (prompts: string[]) =>
      prompts.reduce((sum, prompt) => sum + classifyComplexity(user(prompt)).score, 0) / prompts.length;
    const maxEasy = Math.max(...EASY.map((prompt) => classifyComplexity(user(prompt)).score));
    const minHard = Math.min(...HARD.map((prompt) => classifyComplexity(user(prompt)).score));
    expect(maxEasy).toBeLessThan(minHard);
    expect(mean(EASY)).toBeLessThan(mean(MEDIUM));
    expect(mean(MEDIUM)).toBeLessThan(mean(HARD));
  });

  it('maps the default thresholds to tiers: greetings stay small, proofs and designs go up', () => {
    expect(classifyComplexity(user('hi')).tier).toBe(0);
    expect(classifyComplexity(user(HARD[1]!)).tier).toBe(2);
    const result = classifyComplexity(user(HARD[0]!));
    expect(result.tier).toBeGreaterThanOrEqual(1);
    expect(result.features.reasoning).toBeGreaterThan(0);
  });

  it('reads chat bodies, completion prompts, content parts, tools and response_format', () => {
    const parts = extractFeatures({
      messages: [
        { role: 'system', content: 'You are terse.'.repeat(100) },
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [{ type: 'text', text: 'Why? And how?' }] },
      ],
      tools: [{ type: 'function' }],
      response_format: { type: 'json_object' },
    });
    expect(parts.questions).toBeCloseTo(2 / 5);
    expect(parts.context).toBeGreaterThan(0);
    expect(parts.turns).toBeCloseTo(0.2); // 3 user/assistant turns → (3 − 1) / 10
    expect(parts.tools).toBe(1);
    expect(parts.structured).toBe(1);
    expect(extractFeatures({ prompt: ['a?', 'b?'] }).questions).toBeCloseTo(2 / 5);
    expect(extractFeatures({ text: '' }).length).toBe(0);
  });

  it('is cheap (cheaper than tokenizing the prompt) and bounded on long prompts', async () => {
    // Ratios within one run, no absolute timings: the 0.1 ms budget is reported in the README from a quiet run.
    const { get_encoding } = await import('tiktoken');
    const encoding = get_encoding('cl100k_base');
    const typical = [...EASY, ...MEDIUM, ...HARD];
    const long = HARD[2]!.repeat(40);
    const time = (rounds: number, run: (index: number) => void): number => {
      const started = performance.now();
      for (let index = 0; index < rounds; index++) run(index);
      return (performance.now() - started) / rounds;
    };
    time(200, (index) => classifyComplexity(user(index % 2 ? long : typical[index % typical.length]!))); // warm up
    const typicalMs = time(600, (index) => classifyComplexity(user(typical[index % typical.length]!)));
    const tokenizeMs = time(300, (index) => encoding.encode(typical[index % typical.length]!));
    const longMs = time(100, () => classifyComplexity(user(long)));
    encoding.free();
    expect(typicalMs).toBeLessThan(tokenizeMs);
    // 25 KB is ~120× the typical prompt; the capped scan keeps it within a small multiple.
    expect(longMs / typicalMs).toBeLessThan(40);
  });

  it('uses weight overrides from the config', () => {
    const config = TierConfig.parse({ weights: { questions: 10 }, thresholds: [0.5] });
    expect(classifyComplexity(user('why? why? why?'), config).tier).toBe(1);
    expect(classifyComplexity(user('why? why? why?')).tier).toBe(0);
  });

  it('rejects thresholds out of order', () => {
    expect(TierConfig.safeParse({ thresholds: [0.7, 0.3] }).error?.issues[0]?.path).toEqual(['thresholds']);
  });
});

describe('calibrate', () => {
  it('splits a sample in the wanted shares', () => {
    const scores = Array.from({ length: 1_000 }, (_, index) => ((index * 7919) % 1_000) / 1_000);
    const thresholds = thresholdsForShares(scores, [0.6, 0.3, 0.1]);
    const counts = [0, 0, 0];
    for (const score of scores) counts[tierForScore(score, thresholds)]!++;
    expect(counts).toEqual([600, 300, 100]);
  });

  it('calibrates real prompts end to end and reports achieved shares', () => {
    const prompts = [...EASY, ...MEDIUM, ...HARD].map((prompt) => user(prompt));
    const result = calibrate(prompts, [0.5, 0.3, 0.2]);
    expect(result.sampleSize).toBe(11);
    expect(result.thresholds).toHaveLength(2);
    expect(result.achievedShares.reduce((sum, share) => sum + share, 0)).toBeCloseTo(1);
    expect(result.achievedShares[0]).toBeCloseTo(Math.round(0.5 * 11) / 11, 5);
    for (const prompt of HARD.slice(1)) expect(classifyComplexity(user(prompt), result.config).tier).toBe(2);
  });

  it('keeps thresholds ascending when many prompts share a score', () => {
    const thresholds = thresholdsForShares([0.2, 0.2, 0.2, 0.2, 0.9], [0.4, 0.4, 0.2]);
    expect(thresholds[1]).toBeGreaterThanOrEqual(thresholds[0]!);
  });

  it('validates shares and input lines with clear errors', () => {
    expect(parseShares('0.6, 0.3,0.1')).toEqual([0.6, 0.3, 0.1]);
    expect(() => parseShares('0.6,0.3')).toThrow(/sum to 1/);
    expect(() => parseShares('1')).toThrow(/at least two/);
    expect(() => parseShares('0.5,x')).toThrow(CalibrationInputError);
    expect(parsePromptsJsonl('"a"\n\n{"prompt":"b"}\n{"messages":[{"role":"user","content":"c"}]}\n')).toHaveLength(3);
    expect(() => parsePromptsJsonl('"a"\n{oops', 'p.jsonl')).toThrow('p.jsonl:2: not valid JSON');
    expect(() => parsePromptsJsonl('{"foo":1}', 'p.jsonl')).toThrow(/p.jsonl:1: expected/);
  });
});

describe('switchyard calibrate', () => {
  function program(): { program: Command; output: string[] } {
    const output: string[] = [];
    const program = new Command('switchyard').exitOverride();
    program.configureOutput({ writeErr: (text) => output.push(text), writeOut: (text) => output.push(text) });
    registerTierCommands(program);
    return { program, output };
  }

  it('prints thresholds as a YAML snippet for auto.classifier', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'switchyard-calibrate-'));
    const input = join(directory, 'prompts.jsonl');
    writeFileSync(input, [...EASY, ...MEDIUM, ...HARD].map((prompt) => JSON.stringify({ prompt })).join('\n'));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await program().program.parseAsync([
        'node',
        'switchyard',
        'calibrate',
        '--input',
        input,
        '--shares',
        '0.6,0.3,0.1',
      ]);
      const printed = log.mock.calls.map((call) => String(call[0])).join('\n');
      expect(printed).toMatch(/calibrated on 11 prompts/);
      expect(printed).toMatch(/auto:\n {2}classifier:\n {4}thresholds:\n {6}- 0\.\d+\n {6}- 0\.\d+/);
    } finally {
      log.mockRestore();
    }
  });

  it('fails with a clear message and exit code 2 on bad input', async () => {
    const { program: cli, output } = program();
    await expect(
      cli.parseAsync([
        'node',
        'switchyard',
        'calibrate',
        '--input',
        '/nonexistent/prompts.jsonl',
        '--shares',
        '0.5,0.5',
      ]),
    ).rejects.toMatchObject({ exitCode: 2 });
    expect(output.join('')).toMatch(/calibrate: cannot read \/nonexistent\/prompts.jsonl/);
  });
});
