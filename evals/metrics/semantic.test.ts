import { describe, expect, it } from 'vitest';
import { HashedBagOfWordsEmbedder } from '../embedders/hashed.ts';
import { cosine, extractEntities, lcsLength, rougeL, splitSentences, wordTokens } from './text.ts';
import { evaluateAssertion as run, makeCase } from './testing.ts';

describe('text helpers', () => {
  it('LCS and ROUGE-L on a hand-computed pair', () => {
    // candidate: the cat sat on the mat (6) / reference: the cat was on the mat (6); LCS = the cat on the mat = 5
    expect(lcsLength(wordTokens('the cat sat on the mat'), wordTokens('the cat was on the mat'))).toBe(5);
    const scores = rougeL('The cat sat on the mat.', 'the cat was on the mat');
    expect(scores.precision).toBeCloseTo(5 / 6, 12);
    expect(scores.recall).toBeCloseTo(5 / 6, 12);
    // Lin's example: "police killed the gunman" vs "the gunman was killed by police": the longest in-order common
    // subsequence is "the gunman" (2) → P = 2/4, R = 2/6
    const lin = rougeL('police killed the gunman', 'the gunman was killed by police');
    expect(lin.f1).toBeCloseTo((2 * 0.5 * (1 / 3)) / (0.5 + 1 / 3), 12);
    expect(rougeL('', 'anything').f1).toBe(0);
  });

  it('splits sentences with Intl.Segmenter and drops empty ones', () => {
    expect(splitSentences('Paris is in France. It is big!\n\n  Is it old? ')).toEqual([
      'Paris is in France.',
      'It is big!',
      'Is it old?',
    ]);
    expect(splitSentences('  ...  ')).toEqual([]);
  });

  it('extracts people, places, organisations and numbers', async () => {
    const entities = await extractEntities('Marie Curie worked at the University of Paris in 1903.');
    expect(entities).toEqual(expect.arrayContaining(['marie curie', 'university of paris', '1903']));
  });

  it('hashed bag-of-words embedder: deterministic, normalised, identical text → cosine 1', async () => {
    const embedder = new HashedBagOfWordsEmbedder(256);
    const [a, b, c] = await embedder.embed(['the tide is high', 'The tide is HIGH!', 'bees dance']);
    expect(cosine(a ?? [], b ?? [])).toBeCloseTo(1, 12);
    expect(Math.hypot(...(a ?? []))).toBeCloseTo(1, 12);
    expect(Math.abs(cosine(a ?? [], c ?? []))).toBeLessThan(0.5);
    expect(await embedder.embed(['the tide is high'])).toEqual([a]);
  });
});

describe('semantic metrics (hashed embedder, so matches are exact word overlap)', () => {
  const reference = 'The Moon causes the tides. Spring tides happen when the Sun and Moon line up.';
  const evalCase = makeCase({
    reference,
    context: ['Tides are caused by the Moon. The Sun also pulls on the oceans.'],
  });

  it('embedding similarity: identical text is 1, unrelated text fails', async () => {
    expect((await run({ type: 'embedding-similarity' }, reference, evalCase)).score).toBeCloseTo(1, 12);
    expect((await run({ type: 'embedding-similarity', threshold: 0.5 }, 'Bread needs yeast.', evalCase)).pass).toBe(
      false,
    );
  });

  it('claim precision and recall count matched sentences', async () => {
    // Output: one reference sentence verbatim + one unsupported sentence.
    const output = 'The Moon causes the tides. Bread needs flour and yeast.';
    const precision = await run({ type: 'claim-precision', similarity: 0.9 }, output, evalCase);
    expect(precision.score).toBe(1 / 2);
    expect(precision.reason).toContain('Bread needs flour');
    const recall = await run({ type: 'claim-recall', similarity: 0.9, threshold: 0.75 }, output, evalCase);
    expect(recall).toMatchObject({ score: 1 / 2, pass: false });
  });

  it('faithfulness: share of answer sentences supported by the context', async () => {
    const faithful = await run({ type: 'faithfulness', similarity: 0.9 }, 'Tides are caused by the Moon.', evalCase);
    expect(faithful).toMatchObject({ pass: true, score: 1 });
    const invented = await run(
      { type: 'faithfulness', similarity: 0.9 },
      'Tides are caused by the Moon. Tides stop on Sundays.',
      evalCase,
    );
    expect(invented).toMatchObject({ pass: false, score: 0.5 });
    expect((await run({ type: 'faithfulness' }, 'x', makeCase())).reason).toMatch(/no `context`/);
  });

  it('rouge-l uses the reference; entity overlap counts reference entities found', async () => {
    expect((await run({ type: 'rouge-l' }, reference, evalCase)).score).toBeCloseTo(1, 12);
    const entityCase = makeCase({ reference: 'Marie Curie won the Nobel Prize in 1903 in Stockholm.' });
    const partial = await run({ type: 'entity-overlap' }, 'Curie got it in 1903.', entityCase);
    expect(partial.score).toBeGreaterThan(0);
    expect(partial.score).toBeLessThan(1);
    expect(partial.reason).toMatch(/missing .*marie curie/);
    expect((await run({ type: 'entity-overlap' }, 'Marie Curie, 1903, Stockholm.', entityCase)).score).toBe(1);
    expect((await run({ type: 'entity-overlap' }, 'anything', makeCase({ reference: 'yes it is.' }))).reason).toMatch(
      /no entities/,
    );
  });
});
