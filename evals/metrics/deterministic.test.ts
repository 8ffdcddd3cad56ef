import { describe, expect, it } from 'vitest';
import { countTokens, toIso6393 } from './deterministic.ts';
import { evaluateAssertion as run, makeCase } from './testing.ts';

describe('deterministic metrics', () => {
  it('equals: exact after trimming, case-sensitive unless asked, falls back to the case expected', async () => {
    expect((await run({ type: 'equals', value: 'Paris' }, '  Paris\n')).pass).toBe(true);
    expect((await run({ type: 'equals', value: 'Paris' }, 'paris')).pass).toBe(false);
    expect((await run({ type: 'equals', value: 'Paris', ignoreCase: true }, 'paris')).pass).toBe(true);
    expect((await run({ type: 'equals' }, 'Rome', makeCase({ expected: 'Rome' }))).score).toBe(1);
    const missing = await run({ type: 'equals' }, 'Rome');
    expect(missing).toMatchObject({ pass: false, score: 0 });
    expect(missing.reason).toMatch(/no `value`/);
  });

  it('contains: all / any modes, score is the share found', async () => {
    const all = await run({ type: 'contains', values: ['Paris', 'Seine', 'Louvre', 'Eiffel'] }, 'Paris on the Seine');
    expect(all).toMatchObject({ pass: false, score: 0.5 });
    expect(all.reason).toContain('"Louvre"');
    expect((await run({ type: 'contains', values: ['x', 'Seine'], mode: 'any' }, 'the Seine')).pass).toBe(true);
    expect((await run({ type: 'contains', value: 'SEINE', ignoreCase: true }, 'the Seine')).pass).toBe(true);
  });

  it('not-contains and starts-with', async () => {
    // Case-sensitive by default: "Sorry" ≠ "sorry", so only "as an AI" is present → fails with score 0.5.
    expect(
      await run({ type: 'not-contains', values: ['sorry', 'as an AI'] }, 'Sorry, as an AI I cannot'),
    ).toMatchObject({
      pass: false,
      score: 0.5,
    });
    expect(await run({ type: 'not-contains', values: ['sorry'], ignoreCase: true }, 'Sorry!')).toMatchObject({
      pass: false,
      score: 0,
    });
    expect((await run({ type: 'not-contains', values: ['sorry'] }, 'Here you go.')).pass).toBe(true);
    expect((await run({ type: 'starts-with', value: 'Yes' }, '  Yes, it is.')).pass).toBe(true);
    expect((await run({ type: 'starts-with', value: 'Yes' }, 'No. Yes.')).pass).toBe(false);
  });

  it('regex / not-regex, with invalid patterns rejected when the suite loads', async () => {
    expect((await run({ type: 'regex', pattern: '\\b\\d{4}-\\d{2}-\\d{2}\\b' }, 'on 2024-05-01')).reason).toContain(
      '2024-05-01',
    );
    expect((await run({ type: 'regex', pattern: '^answer', flags: 'i' }, 'ANSWER: 4')).pass).toBe(true);
    expect((await run({ type: 'not-regex', pattern: 'TODO' }, 'all done')).pass).toBe(true);
    await expect(run({ type: 'regex', pattern: '(' }, 'x')).rejects.toThrow(
      /not a valid JavaScript regular expression/,
    );
    await expect(run({ type: 'regex', pattern: 'a', flags: 'q' }, 'x')).rejects.toThrow(/flags/);
  });

  it('is-json and json-schema (ajv, with formats), optionally extracting a fenced block', async () => {
    expect((await run({ type: 'is-json' }, '{"a": 1}')).pass).toBe(true);
    expect((await run({ type: 'is-json' }, 'Here: {"a": 1}')).pass).toBe(false);
    expect((await run({ type: 'is-json', extract: true }, 'Here:\n```json\n{"a": 1}\n```')).pass).toBe(true);
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string' },
        email: { type: 'string', format: 'email' },
        age: { type: 'integer', minimum: 0 },
      },
      required: ['name', 'email'],
    };
    expect((await run({ type: 'json-schema', schema }, '{"name":"Ada","email":"ada@example.org","age":36}')).pass).toBe(
      true,
    );
    const bad = await run({ type: 'json-schema', schema }, '{"name":"Ada","email":"not-an-email","age":-1}');
    expect(bad.pass).toBe(false);
    expect(bad.reason).toMatch(/\/email must match format "email"/);
    expect(bad.reason).toMatch(/\/age must be >= 0/);
    await expect(run({ type: 'json-schema', schema: { type: 'nope' } }, '{}')).rejects.toThrow(
      /not a valid JSON Schema/,
    );
  });

  it('required-fields: dotted paths, score = share present', async () => {
    const result = await run(
      { type: 'required-fields', fields: ['user.name', 'user.id', 'total'] },
      '{"user":{"name":"x"},"total":null}',
    );
    expect(result.score).toBeCloseTo(1 / 3, 12);
    expect(result.reason).toBe('missing user.id, total');
  });

  it('token-length: tiktoken counts, window and graded score', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    const tokens = countTokens(text);
    expect(tokens).toBe(10); // cl100k_base: 9 words + "."
    expect((await run({ type: 'token-length', min: 5, max: 10 }, text)).pass).toBe(true);
    const tooLong = await run({ type: 'token-length', max: 8 }, text);
    expect(tooLong).toMatchObject({ pass: false });
    expect(tooLong.score).toBeCloseTo(1 - 2 / 8, 12);
    expect(countTokens(text, 'o200k_base')).toBeGreaterThan(0);
    await expect(run({ type: 'token-length' }, text)).rejects.toThrow(/give `min`, `max` or both/);
    await expect(run({ type: 'token-length', min: 5, max: 2 }, text)).rejects.toThrow(/`min` > `max`/);
  });

  it('language: franc-min detection with ISO 639-1 or 639-3 codes; short text fails clearly', async () => {
    expect(toIso6393('en')).toBe('eng');
    expect(toIso6393('fra')).toBe('fra');
    expect(toIso6393('xx')).toBeUndefined();
    const english = 'The capital of France is Paris, a large city on the river Seine.';
    const french = 'La capitale de la France est Paris, une grande ville sur la Seine.';
    expect((await run({ type: 'language', value: 'en' }, english)).pass).toBe(true);
    const wrong = await run({ type: 'language', value: 'en' }, french);
    expect(wrong.pass).toBe(false);
    expect(wrong.reason).toMatch(/detected fra\/fr, expected eng\/en/);
    expect(wrong.score).toBeLessThan(1);
    expect((await run({ type: 'language', value: 'fr' }, french)).pass).toBe(true);
    expect((await run({ type: 'language', value: 'en' }, 'Yes.')).reason).toMatch(/undetermined/);
    await expect(run({ type: 'language', value: 'klingon' }, english)).rejects.toThrow(/unknown ISO 639/);
  });

  it('unknown metrics and unknown parameters are rejected with the assertion path', async () => {
    await expect(run({ type: 'bleu' }, 'x')).rejects.toThrow(/unknown metric "bleu"/);
    await expect(run({ type: 'contains', value: 'a', vaule: 'typo' }, 'x')).rejects.toThrow(/test: Unrecognized key/);
  });
});
