import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cutoffsUpTo, evalRetrieval, writeRuns } from '../commands/other.ts';
import { CollectionSearchBackend } from '../testing/collection-backend.ts';
import { documentsFromHits, evaluateRetrieval, formatRetrievalTable, parseQueries } from './evaluate.ts';
import { measureRun } from './measures.ts';
import { parseQrels, parseRun } from './trec.ts';

const collection = join(import.meta.dirname, 'collection');
const qrels = parseQrels(readFileSync(join(collection, 'qrels.txt'), 'utf8'));
const queries = parseQueries(readFileSync(join(collection, 'queries.jsonl'), 'utf8'));

describe('eval retrieval', () => {
  it('a document scores as its best chunk, ranked in trec_eval order and cut at depth', () => {
    const entries = documentsFromHits(
      [
        { documentId: 'd1', score: 0.2 },
        { documentId: 'd2', score: 0.5 },
        { documentId: 'd1', score: 0.9 },
        { documentId: 'd3', score: 0.5 },
      ],
      2,
    );
    expect(entries).toEqual([
      { docno: 'd1', score: 0.9 },
      { docno: 'd3', score: 0.5 },
    ]);
    expect(() => documentsFromHits([{ documentId: 'a b', score: 1 }], 1)).toThrow(/whitespace/);
  });

  it('runs queries per mode, measures them, and writes run files that score the same when read back', async () => {
    const results = await evaluateRetrieval(new CollectionSearchBackend(), queries, qrels, {
      modes: ['lexical', 'vector'],
      depth: 10,
      measure: { cutoffs: [1, 5, 10] },
    });
    expect(results.map((result) => result.mode)).toEqual(['lexical', 'vector']);
    const lexical = results[0];
    if (!lexical) throw new Error('no lexical result');
    expect(lexical.measures.numQueries).toBe(5);
    // The word-overlap backend finds each query's most relevant document first on this collection.
    expect(lexical.measures.mean.mrr).toBe(1);
    expect(lexical.run.get('q3')?.[0]?.docno).toBe('d6');
    const directory = await mkdtemp(join(tmpdir(), 'switchyard-runs-'));
    try {
      const files = await writeRuns(results, join(directory, 'run.txt'), 'test');
      expect(files.map((file) => file.slice(directory.length))).toEqual(['/run.txt.lexical', '/run.txt.vector']);
      const text = await readFile(files[0] ?? '', 'utf8');
      expect(text.split('\n')[0]).toMatch(/^q1 Q0 d\d+ 1 \S+ test-lexical$/);
      const reread = measureRun(parseRun(text), qrels, { cutoffs: [1, 5, 10] });
      expect(reread.mean).toEqual(lexical.measures.mean);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
    expect(formatRetrievalTable(results, [5, 100])).toMatch(/^mode\s+queries\s+nDCG@5\s+MAP\s+P@5\s+R@100\s+MRR\n/);
  });

  it('rejects modes the backend does not have, and bad query files', async () => {
    await expect(
      evaluateRetrieval(new CollectionSearchBackend(), queries, qrels, {
        modes: ['rerank'],
        depth: 5,
        measure: { cutoffs: [5] },
      }),
    ).rejects.toThrow(/search mode rerank is not available/);
    expect(() => parseQueries('{"id": "q 1", "text": "x"}')).toThrow(/cannot contain spaces/);
    expect(() => parseQueries('{"id": "q1"}')).toThrow(/expected \{"id", "text"\}/);
  });

  it('the command scores an existing run file like trec_eval', async () => {
    const out: string[] = [];
    const code = await evalRetrieval(
      { qrels: join(collection, 'qrels.txt'), run: join(collection, 'run-a.txt'), k: '5', json: true },
      { stdout: (text) => out.push(text), stderr: (text) => out.push(text) },
    );
    expect(code).toBe(0);
    const [summary] = JSON.parse(out.at(-1) ?? '[]') as Array<{ mode: string; numQueries: number; map: number }>;
    expect(summary).toMatchObject({ mode: 'run-file', numQueries: 4 });
    expect(summary?.map).toBeCloseTo(((1 + 2 / 3 + 3 / 4) / 3 + 1 + 0 + 1) / 4, 12);
    expect(cutoffsUpTo(10)).toEqual([1, 3, 5, 10]);
    const missing = await evalRetrieval(
      { qrels: join(collection, 'qrels.txt') },
      { stdout: () => undefined, stderr: (text) => out.push(text) },
    );
    expect(missing).toBe(2);
  });
});
