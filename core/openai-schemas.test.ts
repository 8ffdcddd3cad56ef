// The compiled check (ajv over z.toJSONSchema) must accept exactly what zod accepts: a body it lets through skips
// zod entirely. Every body below is run through both; single-field mutations of a valid body cover each rule, and
// seeded random combinations cover interactions. The checks `npm run build` precompiles (ajv standalone code, what the
// compiled router runs) are held to the same corpus.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { ValidateFunction } from 'ajv';
import { precompiledChecksSource } from '../scripts/precompile-checks.ts';
import { InvalidRequestError } from './errors.ts';
import { z as zod } from 'zod';
import {
  ChatCompletionRequest,
  CompletionRequest,
  EmbeddingRequest,
  PASS_THROUGH_BY_NAME,
  PASS_THROUGH_SCHEMAS,
  compiledCheck,
  parseBody,
} from './openai-schemas.ts';

const SCALARS: unknown[] = [
  null,
  true,
  false,
  0,
  1,
  -1,
  1.5,
  2,
  2.5,
  -2.5,
  16,
  128,
  129,
  2 ** 53,
  1e20,
  -1e20,
  0.5,
  '',
  'x',
  'auto',
  'none',
  'required',
  'text',
  'json_object',
  'json_schema',
  'user',
  'float',
  'base64',
];
const COMPOUNDS: unknown[] = [
  [],
  ['a'],
  ['a', 'b'],
  [1, 2],
  [-1],
  [1.5],
  [[1, 2]],
  [[-1]],
  [[]],
  Array.from({ length: 17 }, () => 's'),
  {},
  { type: 'text' },
  { type: 'json_object' },
  { type: 1 },
  { include_usage: true },
  { include_usage: 'yes' },
  { include_usage: null },
  { type: 'function', function: { name: 'lookup' } },
  { type: 'function', function: { name: '' } },
  [{ type: 'function', function: { name: 'lookup' } }],
  [{ type: 'function', function: { name: '' } }],
  [{ type: 'function' }],
  [{ function: { name: 'f' } }],
  [{ type: 'text', text: 'hi' }],
  [{ type: 'text', text: 3 }],
  [{ text: 'no type' }],
];
const VALUES = [...SCALARS, ...COMPOUNDS];

const MESSAGES: unknown[] = [
  { role: 'user', content: 'hi' },
  { role: 'system', content: null },
  { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function' }] },
  { role: 'tool', content: 'x', tool_call_id: 'c1' },
  { role: 'user', content: [{ type: 'text', text: 'part' }], name: 'ann' },
  { role: 'robot', content: 'hi' },
  { content: 'no role' },
  { role: 'user', content: 5 },
  { role: 'user', content: [{ text: 'no type' }] },
  { role: 'user', name: 3 },
  { role: 'assistant', tool_calls: [{ id: 1 }] },
  { role: 'assistant', tool_calls: 'x' },
  { role: 'tool', tool_call_id: null },
  { role: 'user', content: 'hi', extra: { nested: true } },
  'not an object',
  null,
];

interface Case {
  schema: zod.ZodType;
  base: Record<string, unknown>;
  fields: string[];
}

const CASES: Record<string, Case> = {
  chat: {
    schema: ChatCompletionRequest,
    base: { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hello' }] },
    fields: [
      'model',
      'messages',
      'stream',
      'stream_options',
      'max_tokens',
      'max_completion_tokens',
      'n',
      'temperature',
      'top_p',
      'presence_penalty',
      'frequency_penalty',
      'seed',
      'stop',
      'user',
      'tools',
      'tool_choice',
      'response_format',
      'top_k',
    ],
  },
  completions: {
    schema: CompletionRequest,
    base: { model: 'llama-3.1-8b', prompt: 'Once upon a time' },
    fields: [
      'model',
      'prompt',
      'stream',
      'stream_options',
      'max_tokens',
      'n',
      'temperature',
      'top_p',
      'seed',
      'stop',
      'user',
      'echo',
      'suffix',
      'logprobs',
    ],
  },
  embeddings: {
    schema: EmbeddingRequest,
    base: { model: 'bge-small', input: 'a sentence' },
    fields: ['model', 'input', 'encoding_format', 'dimensions', 'user'],
  },
};

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bodiesFor(testCase: Case): Record<string, unknown>[] {
  const bodies: Record<string, unknown>[] = [testCase.base];
  for (const field of testCase.fields) {
    const { [field]: _removed, ...without } = testCase.base;
    bodies.push(without);
    for (const value of VALUES) bodies.push({ ...testCase.base, [field]: value });
  }
  if ('messages' in testCase.base) {
    for (const message of MESSAGES) {
      bodies.push({ ...testCase.base, messages: [message] });
      bodies.push({ ...testCase.base, messages: [{ role: 'system', content: 'sys' }, message] });
    }
  }
  const random = seeded(7);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  for (let index = 0; index < 400; index++) {
    const body: Record<string, unknown> = { ...testCase.base };
    const changes = 1 + Math.floor(random() * 4);
    for (let change = 0; change < changes; change++) body[pick(testCase.fields)] = pick(VALUES);
    if ('messages' in body && random() < 0.3) body['messages'] = [pick(MESSAGES), pick(MESSAGES)];
    bodies.push(body);
  }
  // JSON round trip: bodies reach the router as parsed JSON (no undefined values, no NaN).
  return bodies.map((body) => JSON.parse(JSON.stringify(body)) as Record<string, unknown>);
}

describe('compiled request checks agree with the zod schemas', () => {
  for (const [name, testCase] of Object.entries(CASES)) {
    it(`${name}: same verdict on every body`, () => {
      const check = compiledCheck(testCase.schema);
      let accepted = 0;
      let rejected = 0;
      for (const body of bodiesFor(testCase)) {
        const zodAccepts = testCase.schema.safeParse(body).success;
        expect({ body, verdict: check(body) }).toEqual({ body, verdict: zodAccepts });
        if (zodAccepts) accepted++;
        else rejected++;
      }
      // Both verdicts must be well represented, or the corpus proves nothing.
      expect(accepted).toBeGreaterThan(20);
      expect(rejected).toBeGreaterThan(100);
    });
  }
});

/** The build's precompiled module, evaluated as node would load it (CommonJS; it requires ajv's runtime helpers). */
function loadPrecompiled(): Record<string, ValidateFunction> {
  const module = { exports: {} as Record<string, ValidateFunction> };
  new Function('require', 'module', 'exports', precompiledChecksSource())(
    createRequire(import.meta.url),
    module,
    module.exports,
  );
  return module.exports;
}

describe('precompiled request checks (the compiled build) agree with the zod schemas', () => {
  const precompiled = loadPrecompiled();
  it('exports one check per pass-through schema', () => {
    expect(Object.keys(precompiled).sort()).toEqual(Object.keys(PASS_THROUGH_BY_NAME).sort());
  });
  for (const [name, testCase] of Object.entries(CASES)) {
    const schemaName = Object.keys(PASS_THROUGH_BY_NAME).find((key) => PASS_THROUGH_BY_NAME[key] === testCase.schema);
    if (schemaName === undefined) continue;
    it(`${name}: same verdict on every body`, () => {
      const check = precompiled[schemaName]!;
      for (const body of bodiesFor(testCase)) {
        expect({ body, verdict: check(body) }).toEqual({ body, verdict: testCase.schema.safeParse(body).success });
      }
    });
  }
});

describe('parseBody', () => {
  it('takes the compiled check only for schemas whose parse changes nothing', () => {
    expect([...PASS_THROUGH_SCHEMAS]).toEqual([ChatCompletionRequest, CompletionRequest, EmbeddingRequest]);
    for (const schema of PASS_THROUGH_SCHEMAS) {
      // A default or a transform makes the output side differ from the input side (or not representable at all).
      expect(zod.toJSONSchema(schema, { io: 'output' })).toEqual(zod.toJSONSchema(schema, { io: 'input' }));
    }
    // A schema with a default is parsed by zod, so the default is applied.
    const withDefault = zod.object({ top_k: zod.number().default(10) });
    expect(parseBody(withDefault, {})).toEqual({ top_k: 10 });
  });

  it('returns a valid body as it is, unknown fields included', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }], top_k: 5, guided_json: { type: 'object' } };
    expect(parseBody(ChatCompletionRequest, body)).toBe(body);
  });

  it("names the first bad parameter the way OpenAI does (zod's message)", () => {
    const error = (() => {
      try {
        parseBody(ChatCompletionRequest, { model: 'm', messages: [{ role: 'robot', content: 'hi' }] });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).param).toBe('messages[0].role');
    expect(() => parseBody(ChatCompletionRequest, { messages: [] })).toThrow(/Missing required parameter: 'model'/);
    expect(() => parseBody(ChatCompletionRequest, [1])).toThrow(/must be a JSON object/);
  });
});
