import { describe, expect, it } from 'vitest';
import { formatRun, parseQrels, parseRun, rankDocuments, type Run } from './trec.ts';

describe('TREC files', () => {
  it('parses qrels and rejects malformed or duplicate lines with their line number', () => {
    const qrels = parseQrels('q1 0 d1 1\n\nq1 0 d2 0\nq2 0 d1 2\n');
    expect(qrels.get('q1')?.get('d1')).toBe(1);
    expect(qrels.get('q2')?.get('d1')).toBe(2);
    expect(() => parseQrels('q1 0 d1')).toThrow(/qrels:1: expected/);
    expect(() => parseQrels('q1 0 d1 x')).toThrow(/not an integer/);
    expect(() => parseQrels('q1 0 d1 1\nq1 0 d1 2')).toThrow(/qrels:2: duplicate/);
  });

  it('parses runs, rejecting duplicates and bad scores', () => {
    const run = parseRun('q1 Q0 d1 1 2.5 tag\nq1 Q0 d2 2 1e-3 tag\n');
    expect(run.get('q1')).toEqual([
      { docno: 'd1', score: 2.5 },
      { docno: 'd2', score: 0.001 },
    ]);
    expect(() => parseRun('q1 Q0 d1 1 2.5 tag\nq1 Q0 d1 2 1 tag')).toThrow(/run:2: duplicate document/);
    expect(() => parseRun('q1 Q0 d1 1 NaN tag')).toThrow(/not a number/);
    expect(() => parseRun('q1 Q0 d1 1 tag')).toThrow(/expected "qid Q0 docno rank score tag"/);
  });

  it('breaks score ties by descending docno, byte-wise', () => {
    expect(
      rankDocuments([
        { docno: 'a', score: 1 },
        { docno: 'b', score: 1 },
        { docno: 'c', score: 2 },
      ]),
    ).toEqual(['c', 'b', 'a']);
    expect(
      rankDocuments([
        { docno: 'B', score: 1 },
        { docno: 'a', score: 1 },
      ]),
    ).toEqual(['a', 'B']);
  });

  it('writes a run that parses back to the same ranking', () => {
    const run: Run = new Map([
      [
        'q1',
        [
          { docno: 'x', score: 0.25 },
          { docno: 'y', score: 0.75 },
        ],
      ],
      ['q2', [{ docno: 'z', score: 1 / 3 }]],
    ]);
    const text = formatRun(run, 'mine');
    expect(text.split('\n')[0]).toBe('q1 Q0 y 1 0.75 mine');
    const back = parseRun(text);
    expect(rankDocuments(back.get('q1') ?? [])).toEqual(['y', 'x']);
    expect(back.get('q2')?.[0]?.score).toBe(1 / 3);
    expect(() => formatRun(run, 'two words')).toThrow(/one word/);
  });
});
