// `eval retrieval` against the real retrieval stack: the test collection ingested into a temporary RetrievalIndex
// (tiny generated ONNX embedder and cross-encoder), queried in all four modes through the SearchBackend adapter.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../retrieval/ingest.ts';
import { RetrievalIndex } from '../../retrieval/retrieval-index.ts';
import { TINY_CROSS_ENCODER, tinyModels } from '../../retrieval/testing/models.ts';
import { evalRetrieval } from '../commands/other.ts';
import { parseRun } from './trec.ts';

const collection = join(import.meta.dirname, 'collection');
let workspace = '';

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'switchyard-evals-index-'));
  cpSync(join(collection, 'documents.jsonl'), join(workspace, 'docs', 'documents.jsonl'), { recursive: true });
  const { embedder, reranker } = await tinyModels();
  const index = await RetrievalIndex.open({
    directory: join(workspace, 'index'),
    create: true,
    writable: true,
    embedder,
    reranker,
  });
  // What `switchyard retrieval ingest --reranker <dir>` records, so rerank mode loads the tiny cross-encoder.
  index.store.setSetting('reranker_model', TINY_CROSS_ENCODER);
  await ingest({ path: join(workspace, 'docs'), index });
  index.close();
});
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

describe('eval retrieval --index (retrieval stack)', () => {
  it('reports every mode and writes one TREC run per mode', async () => {
    const lines: string[] = [];
    const code = await evalRetrieval(
      {
        index: join(workspace, 'index'),
        queries: join(collection, 'queries.jsonl'),
        qrels: join(collection, 'qrels.txt'),
        k: '5',
        depth: '10',
        mode: 'lexical,lexical-prf,vector,hybrid,rerank',
        runOut: join(workspace, 'run.txt'),
      },
      { stdout: (text) => lines.push(text), stderr: (text) => lines.push(text) },
    );
    const output = lines.join('\n');
    expect(code, output).toBe(0);
    // Every mode ran as asked (a degraded mode would print "warning: rerank ran as hybrid: …").
    expect(output).not.toMatch(/warning/);
    for (const mode of ['lexical', 'lexical-prf', 'vector', 'hybrid', 'rerank']) {
      expect(output).toMatch(new RegExp(`^${mode}\\s+5\\s`, 'm'));
      const run = parseRun(readFileSync(join(workspace, `run.txt.${mode}`), 'utf8'));
      expect([...run.keys()].sort()).toEqual(['q1', 'q2', 'q3', 'q4', 'q5']);
      for (const entries of run.values()) {
        expect(entries.length).toBeLessThanOrEqual(10);
        expect(new Set(entries.map((entry) => entry.docno)).size).toBe(entries.length);
      }
    }
    // BM25 finds the tides document for "what causes the tides".
    const lexical = parseRun(readFileSync(join(workspace, 'run.txt.lexical'), 'utf8'));
    expect(lexical.get('q3')?.[0]?.docno).toBe('d6');
  });

  it('a missing index is a clear error', async () => {
    const errors: string[] = [];
    const code = await evalRetrieval(
      {
        index: join(workspace, 'nope'),
        queries: join(collection, 'queries.jsonl'),
        qrels: join(collection, 'qrels.txt'),
      },
      { stdout: () => undefined, stderr: (text) => errors.push(text) },
    );
    expect(code).toBe(2);
    expect(errors.join('\n')).toMatch(/cannot open index .*nope: no index at/);
  });
});
