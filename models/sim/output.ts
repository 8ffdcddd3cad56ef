// What a simulated request answers, decided before it runs: the exact token pieces, so the engine knows how many
// tokens to generate and the server streams one piece per sampled token.
import { createRandom, pseudoTextPieces, tokenPieces } from './tokenizer.ts';

export type ResponseMode = 'generate' | 'echo' | 'script';
export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface OutputRequest {
  seed: number;
  maxTokens: number;
  mode: ResponseMode;
  /** The text to say in script mode, or to repeat in echo mode. */
  text?: string;
  stop?: readonly string[];
  ignoreEos?: boolean;
  minTokens?: number;
  json?: { kind: 'object' } | { kind: 'schema'; schema: unknown };
  tool?: { name: string; parameters: unknown; finishReason: FinishReason };
}

export interface OutputPlan {
  /** One string per generated token (the last may be cut at a stop string). */
  pieces: string[];
  finishReason: FinishReason;
  /** Set when the answer is a tool call: pieces are the arguments JSON. */
  toolCall?: { name: string };
  /** The stop string that ended generation, if any. */
  stopReason?: string;
}

/** Median length of an unconstrained answer; real chat answers are a few hundred tokens (ShareGPT mean ≈ 200). */
const NATURAL_MEDIAN_TOKENS = 160;

export function planOutput(request: OutputRequest): OutputPlan {
  const random = createRandom(request.seed ^ 0x5bd1e995);
  if (request.tool) {
    const args = JSON.stringify(valueForSchema(request.tool.parameters, random, 0) ?? {});
    return capped(tokenPieces(args), request.maxTokens, request.tool.finishReason, { name: request.tool.name });
  }
  if (request.json) {
    const value =
      request.json.kind === 'schema'
        ? valueForSchema(request.json.schema, random, 0)
        : { answer: pseudoTextPieces(request.seed, 12).join('').trim() };
    return capped(tokenPieces(JSON.stringify(value)), request.maxTokens, 'stop');
  }
  if (request.mode !== 'generate') {
    return applyStop(capped(tokenPieces(request.text ?? ''), request.maxTokens, 'stop'), request.stop);
  }
  const natural = naturalLength(random, request.minTokens ?? 0);
  const count = request.ignoreEos ? request.maxTokens : Math.min(request.maxTokens, natural);
  const finishReason: FinishReason =
    count >= request.maxTokens && (request.ignoreEos || natural >= request.maxTokens) ? 'length' : 'stop';
  return applyStop({ pieces: pseudoTextPieces(request.seed, count), finishReason }, request.stop);
}

function capped(
  pieces: string[],
  maxTokens: number,
  finishReason: FinishReason,
  toolCall?: { name: string },
): OutputPlan {
  const plan: OutputPlan =
    pieces.length > maxTokens
      ? { pieces: pieces.slice(0, maxTokens), finishReason: 'length' }
      : { pieces, finishReason };
  if (toolCall) plan.toolCall = toolCall;
  return plan;
}

function naturalLength(random: () => number, minTokens: number): number {
  // Log-normal around the median (σ = 0.8), like observed answer lengths.
  const gaussian = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const length = Math.round(NATURAL_MEDIAN_TOKENS * Math.exp(0.8 * gaussian));
  return Math.max(minTokens, Math.min(4096, Math.max(4, length)));
}

/** Cut at the first stop string: tokens up to the one completing it are generated, the text before it is returned. */
function applyStop(plan: OutputPlan, stop: readonly string[] | undefined): OutputPlan {
  if (!stop || stop.length === 0) return plan;
  let text = '';
  for (let index = 0; index < plan.pieces.length; index++) {
    const before = text.length;
    text += plan.pieces[index];
    let earliest = -1;
    let matched: string | undefined;
    for (const candidate of stop) {
      if (candidate.length === 0) continue;
      const at = text.indexOf(candidate, Math.max(0, before - candidate.length + 1));
      if (at >= 0 && (earliest < 0 || at < earliest)) {
        earliest = at;
        matched = candidate;
      }
    }
    if (matched !== undefined) {
      const pieces = plan.pieces.slice(0, index + 1);
      // Re-split the kept text: earlier pieces stay whole up to the stop's start, the rest is dropped.
      let consumed = 0;
      const cut = pieces.map((piece) => {
        const keep = Math.max(0, Math.min(piece.length, earliest - consumed));
        consumed += piece.length;
        return piece.slice(0, keep);
      });
      return { pieces: cut, finishReason: 'stop', stopReason: matched };
    }
  }
  return plan;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value that validates against simple JSON Schemas: types, properties/required, items, enum, const, bounds. */
export function valueForSchema(schema: unknown, random: () => number, depth: number): Json {
  if (!isRecord(schema) || depth > 6) return {};
  if ('const' in schema) return schema['const'] as Json;
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return schema['enum'][0] as Json;
  const variants = schema['anyOf'] ?? schema['oneOf'] ?? schema['allOf'];
  if (Array.isArray(variants) && variants.length > 0) return valueForSchema(variants[0], random, depth + 1);
  let type = schema['type'];
  if (Array.isArray(type)) type = type.find((candidate) => candidate !== 'null') ?? 'null';
  if (type === undefined) type = isRecord(schema['properties']) ? 'object' : 'string';
  switch (type) {
    case 'object': {
      const result: Record<string, Json> = {};
      const properties = isRecord(schema['properties']) ? schema['properties'] : {};
      for (const [name, property] of Object.entries(properties))
        result[name] = valueForSchema(property, random, depth + 1);
      return result;
    }
    case 'array': {
      const min = typeof schema['minItems'] === 'number' ? schema['minItems'] : 1;
      const max = typeof schema['maxItems'] === 'number' ? schema['maxItems'] : Math.max(min, 3);
      const count = Math.min(max, Math.max(min, 1 + Math.floor(random() * 3)));
      return Array.from({ length: count }, () => valueForSchema(schema['items'], random, depth + 1));
    }
    case 'integer':
    case 'number': {
      const min = typeof schema['minimum'] === 'number' ? schema['minimum'] : 0;
      const max = typeof schema['maximum'] === 'number' ? schema['maximum'] : min + 100;
      const value = min + random() * (max - min);
      return type === 'integer'
        ? Math.min(Math.floor(max), Math.max(Math.ceil(min), Math.round(value)))
        : Math.round(value * 100) / 100;
    }
    case 'boolean':
      return random() < 0.5;
    case 'null':
      return null;
    default: {
      let text = pseudoTextPieces(Math.floor(random() * 2 ** 31), 2 + Math.floor(random() * 4)).join('');
      if (typeof schema['maxLength'] === 'number') text = text.slice(0, schema['maxLength']);
      if (typeof schema['minLength'] === 'number') text = text.padEnd(schema['minLength'], 'x');
      return text;
    }
  }
}
