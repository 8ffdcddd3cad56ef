// Where prompts come from: synthetic lengths, a ShareGPT file, a JSONL of prompts, or RAG-shaped prompts (long shared
// context + question). Every workload draws from an injected seeded RNG, so `--seed` reproduces the exact sequence.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { LengthDistribution, WorkloadSpec } from './config.ts';
import { InvalidInputError, describeZodIssues } from './errors.ts';
import type { Rng } from './rng.ts';
import { countTokens, syntheticText } from './tokens.ts';

export interface PromptSpec {
  prompt: string;
  /** cl100k count of the prompt text (the server's usage replaces it when it reports one). */
  promptTokens: number;
  maxTokens: number;
}

export interface Workload {
  readonly description: string;
  next(): PromptSpec;
}

export function sampleLength(distribution: LengthDistribution, rng: Rng): number {
  switch (distribution.kind) {
    case 'fixed':
      return distribution.value;
    case 'uniform':
      return rng.int(Math.min(distribution.min, distribution.max), Math.max(distribution.min, distribution.max));
    case 'normal': {
      const value = Math.round(rng.normal(distribution.mean, distribution.std));
      return Math.min(distribution.max ?? Number.MAX_SAFE_INTEGER, Math.max(distribution.min, value));
    }
    case 'histogram': {
      const total = distribution.bins.reduce((sum, bin) => sum + bin.weight, 0);
      let target = rng.next() * total;
      for (const bin of distribution.bins) {
        target -= bin.weight;
        if (target < 0) return bin.value;
      }
      return distribution.bins.at(-1)?.value ?? 1;
    }
  }
}

export function describeLength(distribution: LengthDistribution): string {
  switch (distribution.kind) {
    case 'fixed':
      return String(distribution.value);
    case 'uniform':
      return `uniform ${distribution.min}–${distribution.max}`;
    case 'normal':
      return `normal μ=${distribution.mean} σ=${distribution.std}`;
    case 'histogram':
      return `histogram ${distribution.bins.map((bin) => `${bin.value}×${bin.weight}`).join(',')}`;
  }
}

/** Parses `512`, `uniform:256:1024`, `normal:512:128[:min[:max]]` or `hist:128=0.5,512=0.3,2048=0.2`. */
export function parseLength(text: string, flag: string): LengthDistribution {
  const fail = (): never => {
    throw new InvalidInputError(
      `${flag}: "${text}" is not a length; use N, uniform:MIN:MAX, normal:MEAN:STD[:MIN[:MAX]] or hist:N=W,N=W`,
    );
  };
  const positiveInt = (part: string | undefined): number => {
    const value = Number(part);
    return Number.isInteger(value) && value > 0 ? value : fail();
  };
  const [kind, ...rest] = text.trim().split(':');
  if (rest.length === 0) return { kind: 'fixed', value: positiveInt(kind) };
  if (kind === 'uniform' && rest.length === 2) {
    const min = positiveInt(rest[0]);
    const max = positiveInt(rest[1]);
    return min <= max ? { kind: 'uniform', min, max } : fail();
  }
  if (kind === 'normal' && rest.length >= 2 && rest.length <= 4) {
    const mean = Number(rest[0]);
    const std = Number(rest[1]);
    if (!(mean > 0) || !(std >= 0)) fail();
    return {
      kind: 'normal',
      mean,
      std,
      min: rest[2] === undefined ? 1 : positiveInt(rest[2]),
      ...(rest[3] === undefined ? {} : { max: positiveInt(rest[3]) }),
    };
  }
  if ((kind === 'hist' || kind === 'histogram') && rest.length === 1) {
    const bins = (rest[0] ?? '').split(',').map((pair) => {
      const [value, weight] = pair.split('=');
      const parsedWeight = Number(weight);
      return { value: positiveInt(value), weight: parsedWeight > 0 ? parsedWeight : fail() };
    });
    return { kind: 'histogram', bins };
  }
  return fail();
}

async function readInput(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidInputError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = rng.int(0, index);
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

function cycling(prompts: readonly PromptSpec[], description: string): Workload {
  let position = 0;
  return {
    description,
    next: () => {
      const prompt = prompts[position % prompts.length] as PromptSpec;
      position += 1;
      return prompt;
    },
  };
}

const ShareGptFile = z.array(
  z.looseObject({
    conversations: z.array(z.looseObject({ from: z.string().optional(), value: z.string() })),
  }),
);

/** vLLM's ShareGPT sampling: first turn = prompt, second = reference completion; drop too-short and too-long pairs. */
export function shareGptPrompts(
  text: string,
  path: string,
  output: LengthDistribution | undefined,
  rng: Rng,
): PromptSpec[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = ShareGptFile.safeParse(json);
  if (!parsed.success)
    throw new InvalidInputError(`${path} is not a ShareGPT file: ${describeZodIssues(parsed.error.issues)}`);
  const prompts: PromptSpec[] = [];
  for (const entry of shuffled(parsed.data, rng)) {
    const [first, second] = entry.conversations;
    if (!first || !second) continue;
    const promptTokens = countTokens(first.value);
    const outputTokens = output ? sampleLength(output, rng) : countTokens(second.value);
    if (promptTokens < 4 || outputTokens < 4) continue;
    if (promptTokens > 1024 || promptTokens + outputTokens > 2048) continue;
    prompts.push({ prompt: first.value, promptTokens, maxTokens: outputTokens });
  }
  if (prompts.length === 0)
    throw new InvalidInputError(`${path}: no conversation has a usable first prompt/answer pair`);
  return prompts;
}

const JsonlLine = z.union([z.string(), z.looseObject({ prompt: z.string() }), z.looseObject({ text: z.string() })]);

export function jsonlPrompts(text: string, path: string, output: LengthDistribution, rng: Rng): PromptSpec[] {
  const prompts: PromptSpec[] = [];
  const lines = text.split('\n');
  for (const [lineIndex, line] of lines.entries()) {
    if (line.trim().length === 0) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new InvalidInputError(`${path}:${lineIndex + 1}: not JSON`);
    }
    const parsed = JsonlLine.safeParse(value);
    if (!parsed.success)
      throw new InvalidInputError(`${path}:${lineIndex + 1}: expected a string or {"prompt": "..."}`);
    const data = parsed.data;
    const prompt = typeof data === 'string' ? data : typeof data.prompt === 'string' ? data.prompt : String(data.text);
    prompts.push({ prompt, promptTokens: countTokens(prompt), maxTokens: sampleLength(output, rng) });
  }
  if (prompts.length === 0) throw new InvalidInputError(`${path}: no prompts`);
  return shuffled(prompts, rng);
}

export async function createWorkload(spec: WorkloadSpec, rng: Rng): Promise<Workload> {
  const pick = (count: number) => rng.int(0, count - 1);
  switch (spec.kind) {
    case 'synthetic':
      return {
        description: `synthetic in=${describeLength(spec.input)} out=${describeLength(spec.output)}`,
        next: () => {
          const promptTokens = sampleLength(spec.input, rng);
          return { prompt: syntheticText(promptTokens, pick), promptTokens, maxTokens: sampleLength(spec.output, rng) };
        },
      };
    case 'sharegpt': {
      const prompts = shareGptPrompts(await readInput(spec.path, 'ShareGPT file'), spec.path, spec.output, rng);
      return cycling(prompts, `sharegpt ${spec.path} (${prompts.length} conversations)`);
    }
    case 'jsonl': {
      const prompts = jsonlPrompts(await readInput(spec.path, 'JSONL file'), spec.path, spec.output, rng);
      return cycling(prompts, `jsonl ${spec.path} (${prompts.length} prompts)`);
    }
    case 'rag': {
      const contexts = Array.from({ length: spec.contexts }, (_, index) => ({
        text: `Document ${index + 1}:${syntheticText(spec.contextTokens, pick)}`,
      }));
      const withTokens = contexts.map((context) => ({ ...context, tokens: countTokens(context.text) }));
      return {
        description: `rag ${spec.contexts} contexts × ${spec.contextTokens} tokens, question ${describeLength(spec.questionTokens)}, out=${describeLength(spec.output)}`,
        next: () => {
          const context = withTokens[pick(withTokens.length)] as { text: string; tokens: number };
          const question = `\n\nAnswer using only the document above.\nQuestion:${syntheticText(sampleLength(spec.questionTokens, rng), pick)}?`;
          const prompt = context.text + question;
          return { prompt, promptTokens: countTokens(prompt), maxTokens: sampleLength(spec.output, rng) };
        },
      };
    }
  }
}
