// The simulator tokenizer: pseudo-text has exactly the token count asked for; pieces re-join to the text.
import { describe, expect, it } from 'vitest';
import { planOutput, valueForSchema } from './output.ts';
import { countTokens, createRandom, pseudoText, pseudoTextPieces, tokenPieces } from './tokenizer.ts';

describe('simulator tokenizer', () => {
  it('pseudo-text of n pieces is exactly n cl100k tokens, for many seeds and lengths', () => {
    for (let seed = 0; seed < 40; seed++) {
      const count = 1 + ((seed * 37) % 300);
      const pieces = pseudoTextPieces(seed, count);
      expect(pieces).toHaveLength(count);
      expect(countTokens(pieces.join(''))).toBe(count);
    }
    expect(pseudoText(7, 50)).toBe(pseudoText(7, 50));
    expect(pseudoText(7, 50)).not.toBe(pseudoText(8, 50));
  });

  it('token pieces re-join to the text, multi-byte characters included', () => {
    const text = 'Zürich → 東京, naïve café ✓ 🎉';
    const pieces = tokenPieces(text);
    expect(pieces.join('')).toBe(text);
    expect(pieces).toHaveLength(countTokens(text));
  });

  it('stop strings cut the text and count the tokens that were generated', () => {
    const plan = planOutput({
      seed: 1,
      maxTokens: 100,
      mode: 'script',
      text: 'alpha beta gamma delta',
      stop: [' gamma'],
    });
    expect(plan.pieces.join('')).toBe('alpha beta');
    expect(plan.finishReason).toBe('stop');
    expect(plan.stopReason).toBe(' gamma');
    expect(plan.pieces).toHaveLength(3);
  });

  it('max_tokens truncates with finish_reason length', () => {
    const plan = planOutput({ seed: 1, maxTokens: 2, mode: 'script', text: 'alpha beta gamma delta' });
    expect(plan.pieces).toHaveLength(2);
    expect(plan.finishReason).toBe('length');
  });

  it('schema values respect types, enums, bounds and nesting', () => {
    const random = createRandom(3);
    const value = valueForSchema(
      {
        type: 'object',
        properties: {
          name: { type: 'string', maxLength: 8 },
          kind: { enum: ['a', 'b'] },
          score: { type: 'number', minimum: 2, maximum: 3 },
          nested: { type: 'object', properties: { flag: { type: ['boolean', 'null'] } } },
          list: { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 2 },
        },
      },
      random,
      0,
    ) as { name: string; kind: string; score: number; nested: { flag: unknown }; list: number[] };
    expect(value.name.length).toBeLessThanOrEqual(8);
    expect(value.kind).toBe('a');
    expect(value.score).toBeGreaterThanOrEqual(2);
    expect(value.score).toBeLessThanOrEqual(3);
    expect(typeof value.nested.flag).toBe('boolean');
    expect(value.list).toHaveLength(2);
    expect(value.list.every(Number.isInteger)).toBe(true);
  });
});
