// Seeded mutated request bodies for every POST route of the embedded default: wrong types, missing and extra fields,
// huge and tiny numbers, bad UTF-8, truncated JSON, odd content types, nested junk, many messages and tools. Each
// body starts from a valid request of its route, so most mutations reach deep into validation and dispatch.
import { seededRandom } from '../../models/random.ts';

export interface FuzzBody {
  route: string;
  contentType: string | undefined;
  body: Buffer;
  /** What was done to it, for failure reports. */
  mutation: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const SMALL_CHAT = { model: 'small', messages: [{ role: 'user', content: 'Say hi.' }], max_tokens: 4 };

/** Valid starting points per route (max_tokens small: the point is the router's handling, not the answer). */
const SEEDS: ReadonlyArray<{ route: string; body: Json }> = [
  { route: '/v1/chat/completions', body: SMALL_CHAT },
  {
    route: '/v1/chat/completions',
    body: { ...SMALL_CHAT, model: 'auto', stream: true, stream_options: { include_usage: true } },
  },
  {
    route: '/v1/chat/completions',
    body: {
      ...SMALL_CHAT,
      model: 'large',
      temperature: 0,
      tools: [{ type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } }],
      tool_choice: 'auto',
      response_format: { type: 'json_object' },
    },
  },
  { route: '/v1/completions', body: { model: 'small', prompt: 'Once upon a time', max_tokens: 4 } },
  { route: '/v1/completions', body: { model: 'auto', prompt: 'Hello', max_tokens: 3, stream: true } },
  { route: '/v1/embeddings', body: { model: 'tiny-bert-embedder', input: ['hello world', 'second'] } },
  { route: '/v1/embeddings', body: { model: 'small', input: 'hello' } },
  { route: '/v1/retrieve', body: { query: 'what does ERR_CONN_REFUSED_443 mean', index: 'fuzz-missing', top_k: 3 } },
  { route: '/v1/rerank', body: { query: 'trains', documents: ['a train', 'a boat'], top_n: 1 } },
  {
    route: '/v1/batches',
    body: { input_file_id: 'file-missing', endpoint: '/v1/chat/completions', completion_window: '24h' },
  },
  { route: '/v1/batches/batch_fuzz/cancel', body: {} },
  { route: '/v1/files', body: { purpose: 'batch' } },
];

const ODD_CONTENT_TYPES = [
  undefined,
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=----x',
  'application/json; charset=utf-16',
  'application/xml',
  'application/json; charset=latin1',
  '*/*',
  'application/octet-stream',
];

const NUMBERS: readonly number[] = [
  0,
  -0,
  -1,
  1,
  2,
  0.5,
  -0.5,
  1e-320,
  1e308,
  -1e308,
  2 ** 31,
  2 ** 53 + 2,
  -(2 ** 53),
  1e21,
  4_294_967_296,
  65_536,
  128_001,
];

export function createBodyGenerator(seed: number): (index: number) => FuzzBody {
  const random = seededRandom(seed);
  const int = (limit: number): number => Math.floor(random() * limit);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

  const junkValue = (depth: number): Json => {
    switch (int(depth > 3 ? 6 : 8)) {
      case 0:
        return null;
      case 1:
        return random() < 0.5;
      case 2:
        return pick(NUMBERS);
      case 3:
        return pick([
          '',
          'x',
          '\u0000',
          '\ud800',
          'é'.repeat(int(50)),
          '{"a":',
          'user',
          'assistant',
          'auto',
          'none',
          'NaN',
        ]);
      case 4:
        return 'y'.repeat(int(5_000));
      case 5:
        return int(3) === 0 ? [] : {};
      case 6:
        return Array.from({ length: int(4) }, () => junkValue(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: int(4) }, () => [
            pick(['role', 'content', 'type', 'text', 'name', 'x', '__proto__', 'constructor']),
            junkValue(depth + 1),
          ]),
        );
    }
  };

  /** Every path (array index or key) inside a value, for targeted mutations. */
  const paths = (
    value: Json,
    prefix: Array<string | number> = [],
    out: Array<Array<string | number>> = [],
  ): Array<Array<string | number>> => {
    if (prefix.length > 0) out.push(prefix);
    if (Array.isArray(value)) value.forEach((item, index) => paths(item, [...prefix, index], out));
    else if (value && typeof value === 'object')
      for (const [key, item] of Object.entries(value)) paths(item, [...prefix, key], out);
    return out;
  };

  const setAt = (root: Json, path: Array<string | number>, replace: (old: Json) => Json | undefined): void => {
    let node = root as Record<string | number, Json>;
    for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, Json>;
    const last = path[path.length - 1]!;
    const next = replace(node[last] as Json);
    if (next === undefined) {
      if (Array.isArray(node)) (node as Json[]).splice(last as number, 1);
      else delete node[last];
    } else {
      node[last] = next;
    }
  };

  const deepNest = (levels: number): string => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

  const mutateJson = (value: Json): { value: Json; mutation: string } => {
    const all = paths(value);
    const target = all.length > 0 ? pick(all) : undefined;
    switch (int(9)) {
      case 0:
        if (target) setAt(value, target, () => junkValue(0));
        return { value, mutation: `wrong type at ${target?.join('.')}` };
      case 1:
        if (target) setAt(value, target, () => undefined);
        return { value, mutation: `removed ${target?.join('.')}` };
      case 2: {
        const key = pick([
          'messages',
          'prompt',
          'n',
          'logprobs',
          'top_logprobs',
          'logit_bias',
          'stop',
          'seed',
          'user',
          'rag',
          'few_shot',
          'ignore_eos',
          'min_tokens',
          'best_of',
          'echo',
          'suffix',
          'x-extra',
          'functions',
          'dimensions',
          'encoding_format',
          'input',
        ]);
        (value as Record<string, Json>)[key] = junkValue(0);
        return { value, mutation: `extra ${key}` };
      }
      case 3:
        if (target) setAt(value, target, () => pick(NUMBERS));
        return { value, mutation: `number at ${target?.join('.')}` };
      case 4: {
        const count = pick([50, 500, 3_000]);
        (value as Record<string, Json>)['messages'] = Array.from({ length: count }, (_, index) => ({
          role: index % 2 ? 'assistant' : 'user',
          content: `m${index}`,
        }));
        return { value, mutation: `${count} messages` };
      }
      case 5: {
        const count = pick([20, 128, 400]);
        (value as Record<string, Json>)['tools'] = Array.from({ length: count }, (_, index) => ({
          type: 'function',
          function: { name: `t${index}`, parameters: { type: 'object' } },
        }));
        return { value, mutation: `${count} tools` };
      }
      case 6: {
        const levels = pick([10, 200, 3_000]);
        (value as Record<string, Json>)[pick(['messages', 'tools', 'metadata', 'response_format', 'input'])] =
          JSON.parse(deepNest(levels)) as Json;
        return { value, mutation: `nested ${levels}` };
      }
      case 7:
        for (const key of Object.keys(value as object))
          if (random() < 0.5) (value as Record<string, Json>)[key] = junkValue(0);
        return { value, mutation: 'many wrong types' };
      default:
        return { value: pick([null, 1, 'text', [], [value], true]), mutation: 'not an object' };
    }
  };

  return (index: number): FuzzBody => {
    const seedBody = pick(SEEDS);
    const value = structuredClone(seedBody.body);
    const { value: mutated, mutation } = random() < 0.85 ? mutateJson(value) : { value, mutation: 'unchanged JSON' };
    let text = JSON.stringify(mutated) ?? 'null';
    let body = Buffer.from(text);
    let label = mutation;
    let contentType: string | undefined = 'application/json';
    const wire = int(10);
    if (wire === 0) {
      body = body.subarray(0, int(body.length));
      label += ', truncated';
    } else if (wire === 1) {
      // Invalid UTF-8 inside a string value.
      const at = Math.max(1, text.indexOf('"', 1) + 1);
      body = Buffer.concat([
        body.subarray(0, at),
        Buffer.from([pick([0xc3, 0xff, 0xfe, 0xed, 0xf4]), 0x28, 0xa0]),
        body.subarray(at),
      ]);
      label += ', bad UTF-8';
    } else if (wire === 2) {
      contentType = pick(ODD_CONTENT_TYPES);
      label += `, content-type ${contentType ?? '(none)'}`;
    } else if (wire === 3) {
      text = pick(['', ' ', 'null', '{', '{"model":', '[]', '"x"', '{"a":1}garbage', '\u0000', 'model=small&prompt=x']);
      body = Buffer.from(text);
      label = `raw ${JSON.stringify(text)}`;
    }
    return { route: seedBody.route, contentType, body, mutation: `#${index} ${seedBody.route}: ${label}` };
  };
}
