// Prompt registry: versioned prompt files (YAML) in one folder. A request names `{"prompt": {"name", "version",
// "variables"}}`; the registry renders the template's messages with the variables (`{{name}}`, every variable must be
// given), and fills model / max_tokens / temperature where the request sets none. The version and a SHA-256 of the
// rendered messages are returned so every request can log and label them.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { InvalidRequestError } from '../../../core/errors.ts';
import { PromptNotFoundError } from '../errors.ts';

export const PromptFile = z.strictObject({
  name: z.string().regex(/^[\w.-]+$/),
  version: z.union([z.string(), z.number()]).transform(String),
  description: z.string().optional(),
  model: z.string().optional(),
  max_tokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
  /** Declared variables; undeclared `{{x}}` in the template are an error at load time. */
  variables: z.array(z.string().regex(/^\w+$/)).default([]),
  template: z
    .array(z.strictObject({ role: z.enum(['system', 'developer', 'user', 'assistant']), content: z.string() }))
    .min(1),
  /** The eval score this version was accepted with (evals/ compares new versions against it). */
  eval_baseline: z.strictObject({ dataset: z.string(), metric: z.string(), score: z.number() }).optional(),
});
export type PromptFile = z.infer<typeof PromptFile>;

export const PromptReference = z.strictObject({
  name: z.string().min(1),
  version: z.union([z.string(), z.number()]).transform(String).optional(),
  variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});

/**
 * Picks the version a reference without one gets (the prompt rollout: active pointer, sticky A/B split). Returns
 * undefined for names it does not know; the registry's latest version serves those.
 */
export type PromptChooser = (name: string, version: string | undefined) => PromptFile | undefined;

export interface RenderedPrompt {
  name: string;
  version: string;
  hash: string;
  body: Record<string, unknown>;
}

const VARIABLE = /\{\{\s*(\w+)\s*\}\}/g;

export class PromptRegistry {
  private readonly prompts = new Map<string, PromptFile[]>();

  static fromDirectory(dir: string): PromptRegistry {
    const registry = new PromptRegistry();
    for (const file of readdirSync(dir)
      .filter((name) => /\.ya?ml$/.test(name))
      .sort()) {
      const path = join(dir, file);
      const parsed = PromptFile.safeParse(parse(readFileSync(path, 'utf8')));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`prompt file ${path}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
      }
      registry.add(parsed.data, path);
    }
    return registry;
  }

  add(prompt: PromptFile, source = prompt.name): void {
    for (const message of prompt.template) {
      for (const match of message.content.matchAll(VARIABLE)) {
        if (!prompt.variables.includes(match[1] as string)) {
          throw new Error(`prompt ${source}: template uses undeclared variable "${match[1]}"`);
        }
      }
    }
    const versions = this.prompts.get(prompt.name) ?? [];
    if (versions.some((existing) => existing.version === prompt.version)) {
      throw new Error(`prompt ${source}: duplicate version ${prompt.name}@${prompt.version}`);
    }
    versions.push(prompt);
    versions.sort((a, b) => compareVersions(a.version, b.version));
    this.prompts.set(prompt.name, versions);
  }

  list(): Array<{ name: string; versions: string[] }> {
    return [...this.prompts.entries()].map(([name, versions]) => ({
      name,
      versions: versions.map((entry) => entry.version),
    }));
  }

  /** Latest version when none is named. */
  get(name: string, version?: string): PromptFile {
    const versions = this.prompts.get(name);
    const found = version === undefined ? versions?.at(-1) : versions?.find((entry) => entry.version === version);
    if (!found) throw new PromptNotFoundError(name, version);
    return found;
  }

  /** Renders `body.prompt` into messages (before any request messages) and defaults; the body without `prompt`. */
  render(body: Readonly<Record<string, unknown>>, choose?: PromptChooser): RenderedPrompt {
    const reference = PromptReference.safeParse(body['prompt']);
    if (!reference.success) {
      throw new InvalidRequestError(`Invalid value for 'prompt': ${reference.error.issues[0]?.message ?? 'invalid'}.`, {
        param: 'prompt',
        code: 'invalid_value',
      });
    }
    const prompt =
      choose?.(reference.data.name, reference.data.version) ?? this.get(reference.data.name, reference.data.version);
    const variables = reference.data.variables;
    const missing = prompt.variables.filter((name) => !(name in variables));
    if (missing.length > 0) {
      throw new InvalidRequestError(`Missing prompt variables: ${missing.join(', ')}.`, {
        param: 'prompt.variables',
        code: 'missing_required_parameter',
      });
    }
    const messages = prompt.template.map((message) => ({
      role: message.role,
      content: message.content.replace(VARIABLE, (_match, name: string) => String(variables[name])),
    }));
    const extra = Array.isArray(body['messages']) ? (body['messages'] as unknown[]) : [];
    const { prompt: _omit, ...rest } = body;
    const rendered: Record<string, unknown> = { ...rest, messages: [...messages, ...extra] };
    if (rendered['model'] === undefined && prompt.model) rendered['model'] = prompt.model;
    if (rendered['max_tokens'] === undefined && rendered['max_completion_tokens'] === undefined && prompt.max_tokens) {
      rendered['max_tokens'] = prompt.max_tokens;
    }
    if (rendered['temperature'] === undefined && prompt.temperature !== undefined)
      rendered['temperature'] = prompt.temperature;
    const hash = createHash('sha256').update(JSON.stringify(messages)).digest('hex').slice(0, 16);
    return { name: prompt.name, version: prompt.version, hash, body: rendered };
  }
}

function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  if (left.every(Number.isFinite) && right.every(Number.isFinite)) {
    for (let index = 0; index < Math.max(left.length, right.length); index++) {
      const diff = (left[index] ?? 0) - (right[index] ?? 0);
      if (diff !== 0) return diff;
    }
    return 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
