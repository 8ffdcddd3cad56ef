// The CACM loader on the committed sample (evals/retrieval/cacm-sample, see its README), then the whole path a user
// runs: `eval convert-cacm` → `ingest` (offline, no --embedder: the word-vector embedder stands in for the default
// model, on a small table derived at test time) → `eval retrieval` in every mode, with TREC runs written.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerRetrievalCommands, type CliIo } from '../../retrieval/cli.ts';
import { deriveWordVectorTable } from '../../retrieval/models/word-vectors/derive.ts';
import { defaultTablePath } from '../../retrieval/models/word-vectors/embedder.ts';
import { evalConvertCacm, evalRetrieval } from '../commands/other.ts';
import { cacmDocuments, cacmQrels, cacmQueries, parseSmart } from './cacm.ts';
import { parseQrels, parseRun } from './trec.ts';

const SAMPLE = join(import.meta.dirname, 'cacm-sample');
let workspace = '';
const savedCache = process.env['SWITCHYARD_MODEL_CACHE'];

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'switchyard-cacm-'));
  const cache = join(workspace, 'models');
  // A small table under the default table's name, so nothing derives the full one during the test.
  const small = join(workspace, 'small.swv');
  await deriveWordVectorTable({ out: small, words: 20_000 });
  mkdirSync(join(cache, 'word-vectors'), { recursive: true });
  copyFileSync(small, defaultTablePath(cache));
  process.env['SWITCHYARD_MODEL_CACHE'] = cache;
});
afterAll(() => {
  if (savedCache === undefined) delete process.env['SWITCHYARD_MODEL_CACHE'];
  else process.env['SWITCHYARD_MODEL_CACHE'] = savedCache;
  rmSync(workspace, { recursive: true, force: true });
});

describe('CACM loader', () => {
  it('parses SMART records: fields, multi-line text, authors, queries and deduplicated qrels', () => {
    const records = parseSmart(readFileSync(join(SAMPLE, 'cacm.all'), 'latin1'), 'cacm.all');
    expect(records).toHaveLength(264);
    const documents = cacmDocuments(records);
    expect(documents[0]).toMatchObject({ id: '1', title: 'Preliminary Report-International Algebraic Language' });
    expect(documents[0]?.metadata).toEqual({
      authors: ['Perlis, A. J.', 'Samelson,K.'],
      published: 'CACM December, 1958',
    });
    const withAbstract = documents.find((document) => document.id === '1572');
    expect(withAbstract?.text).not.toContain('\n.W');
    expect(documents.every((document) => document.text.length > 0 && !/^\s|\s$/.test(document.title))).toBe(true);
    const queries = cacmQueries(parseSmart(readFileSync(join(SAMPLE, 'query.text'), 'latin1'), 'query.text'));
    expect(queries.map((query) => query.id)).toEqual(['10', '12', '19', '25', '36', '58', '5']);
    expect(queries.find((query) => query.id === '19')?.text).toBe('Parallel algorithms');
    const qrels = parseQrels(cacmQrels(readFileSync(join(SAMPLE, 'qrels.text'), 'utf8'), 'qrels.text'));
    expect([...qrels.keys()]).toEqual(['10', '12', '19', '25', '36', '58']);
    expect(qrels.get('12')?.size).toBe(5);
  });

  it('reports malformed input with file and line', () => {
    expect(() => parseSmart('.T\nno id first\n', 'bad.all')).toThrow(/bad.all:1: field \.T before the first \.I/);
    expect(() => parseSmart('.I x\n', 'bad.all')).toThrow(/bad.all:1: "\.I" needs a numeric id/);
    expect(() => cacmQrels('10 x 0 0\n', 'qrels.text')).toThrow(/qrels.text:1: expected "query document …"/);
  });
});

describe('eval retrieval on the CACM sample', () => {
  it('converts, ingests offline with word vectors and scores every mode, runs 1,000 deep by default', async () => {
    const io = { out: [] as string[], err: [] as string[] };
    const commandIo = { stdout: (text: string) => io.out.push(text), stderr: (text: string) => io.err.push(text) };
    const collection = join(workspace, 'collection');
    expect(await evalConvertCacm(SAMPLE, collection, commandIo)).toBe(0);
    expect(io.out.at(-1)).toMatch(/264 documents, 7 queries \(6 judged\)/);

    let ingestErr = '';
    const cliIo: CliIo = { out: () => undefined, err: (text) => (ingestErr += text), progress: false };
    const program = new Command('switchyard').exitOverride();
    registerRetrievalCommands(program, cliIo);
    const indexDir = join(workspace, 'indexes');
    await program.parseAsync([
      'node',
      'switchyard',
      'ingest',
      join(collection, 'documents.jsonl'),
      '--index',
      'cacm',
      '--index-dir',
      indexDir,
      '--offline',
    ]);
    expect(ingestErr).toMatch(
      /^note: Xenova\/all-MiniLM-L6-v2 is not available offline; using switchyard\/glove-100d-wink/,
    );
    expect(ingestErr).not.toMatch(/warning|fetch failed|BM25 only/);

    const runs = join(workspace, 'runs', 'cacm.txt');
    mkdirSync(join(workspace, 'runs'));
    const code = await evalRetrieval(
      {
        index: 'cacm',
        indexDir,
        queries: join(collection, 'queries.jsonl'),
        qrels: join(collection, 'qrels.txt'),
        runOut: runs,
        json: true,
      },
      commandIo,
    );
    expect(io.err).toEqual([]);
    expect(code).toBe(0);
    const rows = JSON.parse(io.out.at(-1) ?? '[]') as Array<{
      mode: string;
      numQueries: number;
      map: number;
      recallAt: Record<string, number>;
    }>;
    expect(rows.map((row) => row.mode)).toEqual(['lexical', 'lexical-prf', 'vector', 'hybrid']);
    for (const row of rows) {
      expect(row.numQueries).toBe(6);
      expect(row.recallAt['100']).toBeGreaterThan(0);
    }
    // BM25 on the sample's own judged queries is far from random (each query has 5–51 relevant of 264 documents).
    expect(rows[0]?.map).toBeGreaterThan(0.3);
    const lexicalRun = parseRun(readFileSync(`${runs}.lexical`, 'utf8'));
    const vectorRun = parseRun(readFileSync(`${runs}.vector`, 'utf8'));
    // Vector search ranks every document: the run is as deep as the collection (depth 1,000 by default).
    expect(vectorRun.get('19')).toHaveLength(264);
    expect(lexicalRun.get('19')?.length).toBeGreaterThan(50);

    const shallow = join(workspace, 'runs', 'shallow.txt');
    await evalRetrieval(
      {
        index: 'cacm',
        indexDir,
        queries: join(collection, 'queries.jsonl'),
        qrels: join(collection, 'qrels.txt'),
        mode: 'hybrid',
        depth: '5',
        runOut: shallow,
      },
      commandIo,
    );
    expect(io.out.at(-1)).toMatch(/^mode\s+queries\s+nDCG@10\s+MAP\s+P@10\s+R@100\s+MRR\nhybrid\s+6\s/);
    expect([...parseRun(readFileSync(shallow, 'utf8')).values()].every((entries) => entries.length === 5)).toBe(true);
  });
});
